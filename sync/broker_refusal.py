"""Why a broker would not take us, told so that a person can fix it.

A broker that refuses the protocol version, the account or the client id will refuse it again
on every retry: the refusal is kept (`BrokerRefusal`) and reported once, naming the broker, what
it said, and the setting that fixes it. The setting is named the way the reader sets it: a key
of the gateway's configuration (`CONFIG_SETTINGS`) or a command-line option (`OPTION_SETTINGS`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import Enum
from typing import Literal, Protocol

MqttProtocol = Literal["5", "3.1.1"]
PROTOCOLS: tuple[MqttProtocol, ...] = ("5", "3.1.1")


class Refused(Enum):
    """What the broker refused (CONNACK reason codes, MQTT 5 numbering; paho maps MQTT 3.1.1's
    return codes 1, 2, 4 and 5 onto 0x84, 0x85, 0x86 and 0x87)."""

    PROTOCOL = "protocol"
    CLIENT_ID = "client_id"
    CREDENTIALS = "credentials"


_REASONS = {
    0x84: Refused.PROTOCOL,  # unsupported protocol version
    0x85: Refused.CLIENT_ID,  # client identifier not valid
    0x86: Refused.CREDENTIALS,  # bad user name or password
    0x87: Refused.CREDENTIALS,  # not authorized
    0x8C: Refused.CREDENTIALS,  # bad authentication method
}


@dataclass(frozen=True, slots=True)
class RefusalSettings:
    """How each fix is spelled for the reader: `protocol` takes the protocol to switch to."""

    protocol: str
    client_id: str
    credentials: str


CONFIG_SETTINGS = RefusalSettings(
    protocol='set broker.protocol = "{protocol}"',
    client_id="set broker.client_id to an id this broker accepts (letters and digits, at most "
    "23 for a strict MQTT 3.1.1 broker)",
    credentials="check broker.username and the password in broker.password_file (or the "
    "client certificate) against the broker's accounts",
)
OPTION_SETTINGS = RefusalSettings(
    protocol="use --mqtt-protocol {protocol}",
    client_id="give --client-id an id this broker accepts (letters and digits, at most 23 for "
    "a strict MQTT 3.1.1 broker)",
    credentials="check --username and --password-file (or --cert-file) against the broker's "
    "accounts",
)


@dataclass(frozen=True, slots=True)
class BrokerRefusal:
    """A refusal that retrying will not cure."""

    broker_url: str
    protocol: MqttProtocol
    what: Refused
    said: str  # the broker's reason, as it gave it

    def message(self, settings: RefusalSettings) -> str:
        """One line: the broker, what it said, and the fix in `settings`' words."""
        if self.what is Refused.PROTOCOL:
            other = "3.1.1" if self.protocol == "5" else "5"
            return (
                f"broker {self.broker_url} refused MQTT {self.protocol} ({self.said.lower()}): "
                + settings.protocol.format(protocol=other)
            )
        what = "the client id" if self.what is Refused.CLIENT_ID else "the account"
        fix = settings.client_id if self.what is Refused.CLIENT_ID else settings.credentials
        return f"broker {self.broker_url} refused {what} ({self.said.lower()}): {fix}"


def classify(broker_url: str, protocol: MqttProtocol, code: int, said: str) -> BrokerRefusal | None:
    """The lasting refusal a CONNACK reason `code` means, or None (a busy or unavailable broker
    is worth retrying)."""
    what = _REASONS.get(code)
    return None if what is None else BrokerRefusal(broker_url, protocol, what, said)


class BrokerLinkError(Exception):
    """A broker could not be used; `str()` is the line to show."""


class BrokerRefused(BrokerLinkError):
    """The broker refused us for a reason retrying will not cure."""

    def __init__(self, refusal: BrokerRefusal, settings: RefusalSettings = OPTION_SETTINGS):
        super().__init__(refusal.message(settings))
        self.refusal = refusal


class BrokerUnreachable(BrokerLinkError):
    """No broker answered in time; the message says what the last attempt met."""


class RefusingLink(Protocol):
    """A connection that keeps the broker's lasting refusal (sync.mqtt_session.MqttSession)."""

    refused: asyncio.Event
    refusal: BrokerRefusal | None


async def until_set_or_refused(
    reached: asyncio.Event, link: RefusingLink, settings: RefusalSettings, timeout: float | None
) -> bool:
    """Wait until `reached` is set (True) or `timeout` seconds pass (False; None: no limit);
    BrokerRefused, its message spelling the fix as `settings` do, when `link`'s broker refuses
    for good first. A `reached` set and cleared again before this wakes (a broker that drops the
    link as soon as it took it) is waited for again."""
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    while True:
        left = None if deadline is None else max(deadline - loop.time(), 0.0)
        waits = [asyncio.ensure_future(e.wait()) for e in (reached, link.refused)]
        try:
            await asyncio.wait(waits, timeout=left, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        if reached.is_set():
            return True
        if link.refusal is not None:
            raise BrokerRefused(link.refusal, settings)
        if deadline is not None and loop.time() >= deadline:
            return False
