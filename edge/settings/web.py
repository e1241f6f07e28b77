"""The ``[web]`` section: where the pharmacy's web page listens, its TLS files, its accounts
file and sessions, and the broker account it sends commands with. Part of edge.settings.config.

Files are checked by `rxedge web` when it starts (naming the key), not here: the daemon reads
the same file and must not refuse to start for the page's sake.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edge.settings.limits import FullPath

LISTEN_PATTERN = r"^(\[[0-9A-Fa-f:.]+\]|[^\s:\[\]]+):\d{1,5}$"


class WebConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # host:port; anything but loopback lets the pharmacy's network reach the page.
    listen: Annotated[str, Field(pattern=LISTEN_PATTERN)] = "127.0.0.1:8080"
    cert_file: Path | None = None  # TLS: the page's certificate (PEM) ...
    key_file: Path | None = None  # ... and its private key
    # Behind a reverse proxy on this machine that terminates TLS: trust its X-Forwarded-* headers.
    behind_proxy: bool = False
    # true: serve plain HTTP beyond this machine (passwords and session ids readable on the way).
    allow_insecure: bool = False
    users_file: FullPath = Path("/etc/rxedge/web-users.json")  # `rxedge web add-user` writes it
    session_minutes: Annotated[int, Field(ge=1, le=7 * 24 * 60)] = 480
    # Failed logins allowed per account and per client address within login_window_seconds.
    login_failures: Annotated[int, Field(ge=1, le=1000)] = 5
    login_window_seconds: Annotated[float, Field(gt=0, le=86400)] = 300.0
    # Logging in by a badge tap (where [badges] is enabled): how long after a browser asks for
    # it the next tap counts, and which client addresses may ask (the screens beside the
    # reader; a browser elsewhere could catch a tap meant for another screen).
    badge_login_seconds: Annotated[float, Field(ge=5, le=120)] = 30.0
    badge_login_from: list[IPv4Network | IPv6Network] = [
        IPv4Network("127.0.0.0/8"),
        IPv6Network("::1/128"),
    ]
    broker_username: Annotated[str, Field(min_length=1)] | None = None
    broker_password_file: Path | None = None

    @model_validator(mode="after")
    def _together(self) -> WebConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError(
                "cert_file and key_file go together; e.g. cert_file = "
                '"/etc/rxedge/web.crt" and key_file = "/etc/rxedge/web.key"'
            )
        if self.broker_password_file is not None and self.broker_username is None:
            raise ValueError(
                "broker_password_file needs broker_username; e.g. broker_username = "
                '"pharmacy-0042-web"'
            )
        return self
