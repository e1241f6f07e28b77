"""The daemon: configuration, wiring, supervision and the command line."""
