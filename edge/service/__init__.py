"""Running as a Linux service: systemd notification and watchdog, Prometheus metrics."""
