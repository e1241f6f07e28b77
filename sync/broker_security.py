"""Who the broker is and who we are to it: TLS (the CA to check the broker against, an optional
client certificate) and a username with a password kept in a file of its own.

A plain-text ``mqtt://`` link carries the password and every message readable and changeable by
anyone on the network path; it is safe only on the machine itself (loopback), which
`plain_text_problem` tells apart.
"""

from __future__ import annotations

import ipaddress
import ssl
import stat
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt

from sync.broker_url import BrokerAddress, MqttProtocol
from sync.errors import SyncError

LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost", "ip6-loopback"})


class BrokerSecretError(SyncError, ValueError):
    """A password file that must not be used (missing, unreadable, empty, or readable by others)."""


@dataclass(frozen=True, slots=True)
class BrokerSecurity:
    """What a client applies before connecting. Without a `ca_file`, a TLS broker is checked
    against the system's CAs; the broker's name is always checked against its certificate."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def uses_tls_files(self) -> bool:
        return any(p is not None for p in (self.ca_file, self.cert_file, self.key_file))

    def problem_with(self, broker: BrokerAddress) -> str | None:
        """Why these settings do not fit `broker`, or None."""
        if not broker.tls and self.uses_tls_files:
            return (
                f"a CA file or client certificate is set but {broker.url} is plain text: "
                f"use mqtts://{broker.host}:8883 (TLS) for them to apply"
            )
        if self.key_file is not None and self.cert_file is None:
            return "a key file needs its certificate file (the client certificate)"
        if self.password is not None and self.username is None:
            return "a password needs a username"
        return None

    def apply(self, client: mqtt.Client, broker: BrokerAddress) -> None:
        """Set up `client` for `broker`: TLS with the broker's certificate and name checked
        (mqtts://), then the username and password, if any."""
        problem = self.problem_with(broker)
        if problem is not None:
            raise ValueError(problem)
        if broker.tls:
            client.tls_set(
                ca_certs=None if self.ca_file is None else str(self.ca_file),
                certfile=None if self.cert_file is None else str(self.cert_file),
                keyfile=None if self.key_file is None else str(self.key_file),
                cert_reqs=ssl.CERT_REQUIRED,
            )
            client.tls_insecure_set(False)
        if self.username is not None:
            client.username_pw_set(self.username, self.password)


@dataclass(frozen=True, slots=True)
class BrokerLink:
    """A broker (and others to fail over to, in order) and the settings to reach it with."""

    address: BrokerAddress
    security: BrokerSecurity = field(default_factory=BrokerSecurity)
    protocol: MqttProtocol = "5"
    fallbacks: tuple[BrokerAddress, ...] = ()

    @property
    def addresses(self) -> list[BrokerAddress]:
        return [self.address, *self.fallbacks]

    @property
    def urls(self) -> str:
        """Every address, comma-separated, as `--broker` takes them."""
        return ",".join(a.url for a in self.addresses)

    @classmethod
    def of(cls, broker: BrokerLink | str) -> BrokerLink:
        """`broker` itself, or a URL with no TLS files or account (system CAs for mqtts://)."""
        return broker if isinstance(broker, BrokerLink) else cls(BrokerAddress.parse(broker))

    @property
    def url(self) -> str:
        return self.address.url


def is_loopback(host: str) -> bool:
    """True for a host on this machine only: 127.0.0.0/8, ::1, localhost."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def plain_text_problem(broker: BrokerAddress) -> str | None:
    """Why a link to `broker` is not safe without an explicit choice, or None: plain text to a
    host that is not this machine."""
    if broker.tls or is_loopback(broker.host):
        return None
    return (
        f"{broker.url} is plain text to a host that is not this machine: anyone on the way can "
        "read and change the messages, the password included"
    )


def password_file_problem(path: Path) -> str | None:
    """Why the password file at `path` must not be used, or None."""
    found = _regular_file(path)
    if isinstance(found, str):
        return found
    content, mode = found
    if mode & 0o077:
        return (
            f"{path} is open to group or others (mode {mode:04o}): it must be readable by the "
            f"service user alone; fix: chmod 600 {path}"
        )
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"{path} cannot be read: {exc}"
    if not _first_line(text):
        return f"{path} is empty: write the password on its first line"
    return None


def read_password_file(path: Path) -> str:
    """The password on the first line of `path` (its line ending removed); BrokerSecretError
    when the file must not be used."""
    problem = password_file_problem(path)
    if problem is not None:
        raise BrokerSecretError(problem)
    return _first_line(path.read_text(encoding="utf-8"))


def _first_line(text: str) -> str:
    lines = text.splitlines()
    return lines[0] if lines else ""


def pem_file_problem(path: Path, private: bool = False) -> str | None:
    """Why a CA, certificate or (`private`) key file at `path` cannot be used, or None. A
    private key must not be readable by others (a group of the service's may read it),
    whether in a key file or beside a certificate in one file."""
    found = _regular_file(path)
    if isinstance(found, str):
        return found
    content, mode = found
    if b"-----BEGIN " not in content[: 1 << 16]:
        return f"{path} is not a PEM file (no -----BEGIN line)"
    if (private or b"PRIVATE KEY-----" in content) and mode & 0o007:
        return f"{path} is a private key open to others (mode {mode:04o}); fix: chmod 600 {path}"
    return None


def _regular_file(path: Path) -> tuple[bytes, int] | str:
    """The content and permission bits of the regular file at `path`, or why it cannot be
    read."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            return f"{path} is not a file"
        content = path.read_bytes()
    except FileNotFoundError:
        return f"{path} does not exist"
    except OSError as exc:
        return f"{path} cannot be read: {exc.strerror or exc}"
    return content, stat.S_IMODE(info.st_mode)


def holds_private_key(path: Path) -> bool:
    """True when the PEM file at `path` holds a private key (a certificate with its key)."""
    try:
        return b"PRIVATE KEY-----" in path.read_bytes()
    except OSError:
        return False
