"""Hardware adapters: transports and wire codecs that turn bytes into typed events and back."""
