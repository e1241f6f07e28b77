"""Broker addresses as written in config: ``mqtt://host:port`` or ``mqtts://host:port``; and
the MQTT versions a broker may speak."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

MqttProtocol = Literal["5", "3.1.1"]
PROTOCOLS: tuple[MqttProtocol, ...] = ("5", "3.1.1")

_DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """Parse a broker URL; ValueError names what is wrong and shows a right one."""
        parts = urlsplit(url)
        if "@" in parts.netloc:  # said without the URL: it may hold a password
            raise ValueError(
                f"broker URL for {parts.netloc.rpartition('@')[2]!r} holds a user name or "
                "password, which rxedge never sends from there (and `ps` or a log would show): "
                "remove it and give username and password_file (--username, --password-file)"
            )
        if parts.scheme not in _DEFAULT_PORTS:
            raise ValueError(
                f"broker URL {url!r} must start with mqtt:// or mqtts://, "
                "e.g. mqtt://127.0.0.1:1883"
            )
        if not parts.hostname:
            raise ValueError(f"broker URL {url!r} has no host, e.g. mqtt://broker.example:1883")
        try:
            port = parts.port or _DEFAULT_PORTS[parts.scheme]
        except ValueError:
            raise ValueError(f"broker URL {url!r} has a bad port, e.g. mqtt://host:1883") from None
        return cls(parts.hostname, port, parts.scheme == "mqtts")

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_broker_list(text: str) -> list[BrokerAddress]:
    """Comma-separated broker URLs (one is fine); ValueError names the bad one."""
    urls = [part.strip() for part in text.split(",") if part.strip()]
    if not urls:
        raise ValueError("no broker URL given, e.g. mqtt://127.0.0.1:1883")
    return [BrokerAddress.parse(url) for url in urls]


class BrokerRotation:
    """Brokers to try in the order given: after a failed attempt or a lost link, the next one,
    round and round. All speak TLS or none does (one client carries one TLS setting)."""

    def __init__(self, brokers: BrokerAddress | Sequence[BrokerAddress]):
        self.brokers = [brokers] if isinstance(brokers, BrokerAddress) else list(brokers)
        if not self.brokers:
            raise ValueError("at least one broker is needed")
        if len({b.tls for b in self.brokers}) > 1:
            raise ValueError(
                "the broker URLs mix mqtt:// and mqtts://: use one scheme for all of them"
            )
        self._at = 0

    @property
    def current(self) -> BrokerAddress:
        return self.brokers[self._at]

    def advance(self) -> BrokerAddress:
        """Move to the next broker (the same one when there is only one) and return it."""
        self._at = (self._at + 1) % len(self.brokers)
        return self.current

    def describe(self) -> str:
        return ", ".join(b.url for b in self.brokers)
