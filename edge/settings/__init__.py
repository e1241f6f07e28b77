"""The gateway's configuration model (TOML), validated with every error naming its key."""
