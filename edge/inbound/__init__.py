"""Messages from the centre (MQTT `cmd/+` and `procurement/status`) on their way into the
daemon: let in (rate, expiry, replay), checked against the contract, turned into changes."""
