"""Put-to-light: deliveries checked at the desk, each pack guided to its slot and confirmed."""
