"""Where a metrics endpoint is: the `metrics.listen` setting read, and the URL that scrapes it
from this machine. Apart from the endpoint itself, so that what only asks it (`rxedge
status`, the web page's health view) does not load the server and the daemon behind it."""

from __future__ import annotations

# `metrics.listen` where the configuration does not set it (the daemon's, and what `rxedge
# status` asks without a configuration)
DEFAULT_LISTEN = "127.0.0.1:9464"


def split_listen(listen: str) -> tuple[str, int]:
    """(host, port) of a `metrics.listen` value ("127.0.0.1:9464", "[::1]:9464")."""
    host, _, port = listen.rpartition(":")
    return host.removeprefix("[").removesuffix("]"), int(port)


def metrics_url(host: str, port: int) -> str:
    """The URL to scrape a server listening on `host`:`port` from this machine."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/metrics"
