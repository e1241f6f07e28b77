"""The ``[web]`` section: where the pharmacy's web page listens, its TLS files, its accounts
file and sessions, and the broker account it sends commands with. Part of edge.settings.config.

Its files are not read while the file is validated: the daemon reads the same file and must
not refuse to start for the page's sake. `page_problems` says what `rxedge web` refuses to
start on (it checks them at its start, and `rxedge check-config` where a [web] section is
given), each naming its key.
"""

from __future__ import annotations

import stat
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from edge.settings.limits import SettingsFilePath, listen_problem
from edge.settings.service_user import unreadable_problem
from sync.broker_security import is_loopback, password_file_problem, pem_file_problem


class WebConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # host:port; anything but loopback lets the pharmacy's network reach the page.
    listen: str = "127.0.0.1:8080"
    cert_file: SettingsFilePath | None = None  # TLS: the page's certificate (PEM) ...
    key_file: SettingsFilePath | None = None  # ... and its private key
    # Behind a reverse proxy on this machine that terminates TLS: trust its X-Forwarded-* headers.
    behind_proxy: bool = False
    # true: serve plain HTTP beyond this machine (passwords and session ids readable on the way).
    allow_insecure: bool = False
    users_file: SettingsFilePath = Path(
        "/etc/rxedge/web-users.json"
    )  # `rxedge web add-user` writes it
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
    broker_password_file: SettingsFilePath | None = None

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        problem = listen_problem(value) if value else "is empty; the page needs host:port"
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("badge_login_from", mode="before")
    @classmethod
    def _screens(cls, value: object) -> object:
        if not isinstance(value, list):
            return value
        said = [why for entry in value if (why := _screen_problem(entry)) is not None]
        if said:
            raise ValueError("; ".join(said))  # the example line follows
        return [ip_network(entry) for entry in value]

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


def _screen_problem(entry: object) -> str | None:
    """What is wrong with one badge_login_from entry, or None."""
    if isinstance(entry, IPv4Network | IPv6Network):
        return None
    if not isinstance(entry, str):
        return f"{entry!r} is not an address in quotes"
    try:
        ip_network(entry)
    except ValueError:
        pass
    else:
        return None
    try:
        network = ip_network(entry, strict=False)
    except ValueError:
        return (
            f"{entry!r} is not an IP address or network: give each screen's address (a name "
            "is not taken) or a network such as 10.0.0.0/24"
        )
    return (
        f"{entry!r} mixes an address and a network size: write the screen's address alone "
        f'("{entry.partition("/")[0]}") or the network it is in ("{network}")'
    )


def plain_text_problem(listen: str, web: WebConfig) -> str | None:
    """Why the page must not listen on `listen`, or None: plain HTTP on a host that is not
    this machine carries every login's password and session id readable by the network."""
    host = listen.rpartition(":")[0]
    if web.cert_file is not None or web.allow_insecure or is_loopback(host):
        return None
    return (
        f"web.listen: {listen} is plain HTTP beyond this machine: anyone on the pharmacy's "
        "network could read the passwords and session ids on the way. Give the page TLS "
        "(web.cert_file and web.key_file), or keep it on 127.0.0.1 behind a reverse proxy on "
        "this machine that speaks TLS (behind_proxy = true), or set allow_insecure = true in "
        "[web] to accept that"
    )


def file_problems(web: WebConfig) -> list[str]:
    """What is wrong with the files [web] names (TLS certificate and key, the broker password),
    each with its key."""
    problems = []
    for key in ("cert_file", "key_file"):
        path = getattr(web, key)
        if path is not None and (problem := pem_file_problem(path, key == "key_file")):
            problems.append(f"web.{key}: {problem}")
    secret = web.broker_password_file
    if secret is not None and (problem := password_file_problem(secret)) is not None:
        problems.append(f"web.broker_password_file: {problem}")
    return problems


def accounts_file_problem(web: WebConfig) -> str | None:
    """What keeps the page from reading its accounts file, `users_file`, on this machine, or
    None. The page starts without it (nobody can log in until an account is added); one it
    cannot read answers every login with 503."""
    path = web.users_file
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return f"web.users_file: {path} is not a file; give the path of the accounts file"
        with path.open("rb"):
            pass
    except FileNotFoundError:
        return (
            f"web.users_file: {path} does not exist: nobody can log in to the page until an "
            "account is added; adding the first creates it: rxedge web add-user USER --name "
            "'FULL NAME' --config FILE"
        )
    except PermissionError:
        return f"web.users_file: {path} {unreadable_problem(path)}"
    except OSError as exc:
        return f"web.users_file: {path} cannot be read ({exc.strerror or exc})"
    return None


def page_problems(web: WebConfig, metrics_listen: str) -> list[str]:
    """What in `web` keeps the page from starting beside the daemon, whose /metrics listens on
    `metrics_listen`, on any machine (its files are this machine's: `file_problems`): plain
    HTTP beyond this machine, and a port the two would share."""
    plain = plain_text_problem(web.listen, web)
    problems = [] if plain is None else [plain]
    port = int(web.listen.rpartition(":")[2])
    if metrics_listen and port != 0 and int(metrics_listen.rpartition(":")[2]) == port:
        problems.append(
            f"web.listen: port {port} is metrics.listen's too ({metrics_listen}): the page and "
            '/metrics need a port each; e.g. listen = "127.0.0.1:8080" in [web]'
        )
    return problems
