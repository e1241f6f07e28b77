"""Why a broker would not take us, or keep us, told so that a person can fix it.

A broker that refuses the protocol version, the account or the client id will refuse it again
on every retry: the refusal is kept (`BrokerRefusal`) and reported once, naming the broker, what
it said, and the setting that fixes it. The setting is named the way the reader sets it: a key
of the gateway's configuration (`CONFIG_SETTINGS`) or a command-line option (`OPTION_SETTINGS`).

A broker keeps one session per client id: another client connecting with ours takes the
session over, and the broker closes our link for it. Both clients reconnect at once and throw
each other off, several times a second, for as long as both run, and they share what the
broker keeps for the session: its subscriptions (each gets messages meant for the other) and
the messages waiting (one not acknowledged on a link that was closed goes to the other).
`SessionTakeover` tells it from the links the broker closes and says so, at a bounded rate.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from sync.broker_url import MqttProtocol

log = logging.getLogger(__name__)
TAKEN_OVER = 0x8E  # DISCONNECT reason code 142 (MQTT 5): session taken over
# MQTT 3.1.1 gives no reason for a closed link, nor do some MQTT 5 brokers (mosquitto 2.0.11
# closes the old link without a word): a link the broker closes within SHORT_LINK_SECONDS of
# taking it, SHORT_LINKS times in a row, is read as a takeover too. The clients of a takeover
# reconnect within a second or so (ours after 0.25 s), and the broker takes the new link at
# once, handing the session over whole. So the count starts again when a connect attempt fails
# on a broker whose links were short (one restarting refuses it; the attempts on another broker
# of several, down meanwhile, say nothing about this one), when a kept session comes back
# without the session after a link of RESTART_LINK_SECONDS at least (a broker restarted without
# it, or another node), and when the broker closes a link with a reason of its own (UNSPECIFIC
# aside: "unspecified error", what paho reports too for a link lost without a word, and a plain
# "normal disconnection"; a reason paho gives itself, such as its keep alive timeout, is not
# the broker's). Such a broker often closes the link before its reason reaches us (paho then
# says "unspecified"): short links count again only EXPLAINED_SECONDS after its last.
EXPLAINED_SECONDS = 60.0
SHORT_LINK_SECONDS = 5.0
SHORT_LINKS = 3
# A client that keeps no session (clean start: `mosquitto_sub -i <our id>`) taking ours over
# empties it each time it connects, so we come back without it, as after a broker's restart.
# The two throw each other off within the other client's reconnect delay (paho's 0.25 s after
# a link; 1 s for mosquitto_sub, paho's default and most others): our links last that long,
# a few ms more, so the limit stands well above 1 s. A broker restarted again and again gives
# links as long as it stays up between restarts: a link this long or more followed by one
# without the session was a restart, and starts the count again.
RESTART_LINK_SECONDS = 1.5
UNSPECIFIC = frozenset({0x00, 0x80})
# After a takeover, a link that stays up this long: the session is ours again.
HOLD_SECONDS = 10.0
# A takeover that goes on is told again at most this often, with how many times it happened.
TELL_AGAIN_SECONDS = 60.0
# What the session's own warning says to do: the session serves the daemon and the tools alike.
GIVE_OWN_ID = (
    "give each client its own client id (broker.client_id in a gateway's configuration, "
    "--client-id for the clerk's watch)"
)


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
    taken_over: str


CONFIG_SETTINGS = RefusalSettings(
    protocol='set broker.protocol = "{protocol}"',
    client_id="set broker.client_id to an id this broker accepts (letters and digits, at most "
    "23 for a strict MQTT 3.1.1 broker)",
    credentials="check broker.username and the password in broker.password_file (or the "
    "client certificate) against the broker's accounts",
    taken_over="give each gateway its own broker.client_id (the default, rxedge-{site}-{gateway}, "
    "is the same for names that differ only by where a '-' falls: site north-ward, gateway 1 "
    "and site north, gateway ward-1)",
)
OPTION_SETTINGS = RefusalSettings(
    protocol="use --mqtt-protocol {protocol}",
    client_id="give --client-id an id this broker accepts (letters and digits, at most 23 for "
    "a strict MQTT 3.1.1 broker)",
    credentials="check --username and --password-file (or --cert-file) against the broker's "
    "accounts",
    taken_over="stop the other client, or give each its own --client-id",
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


class SessionTakeover:
    """Tells, from the links the broker closes, whether another client with our client id
    takes the session over: the broker's reason (MQTT 5: 142, session taken over), or links
    closed without a reason right after they were taken (SHORT_LINKS in a row, no connect
    attempt on their broker failing between them: `connect_failed`; for a `persistent`
    session, none taken without the session after a link of RESTART_LINK_SECONDS or more).
    `taken_over` is set from the
    first sign on, until `held`: set while the link of the moment has stayed up for
    HOLD_SECONDS (no other client took the session over meanwhile), cleared when it goes. The
    first sign is logged as a warning naming the client id and the fix, the signs after it at
    most every TELL_AGAIN_SECONDS. `unreachable`: a connect attempt failed since the last
    link. Fed on the event loop by the session (`link_up`, `link_down`, `connect_failed`)."""

    def __init__(self, client_id: str, persistent: bool = False):
        self.client_id = client_id
        self.persistent = persistent  # the broker keeps the session between links
        self.taken_over = asyncio.Event()
        self.held = asyncio.Event()
        self.signs = 0  # takeovers seen, in all
        self.broker_url = ""  # of the latest sign
        self._sure = False  # the latest sign was the broker's reason, not short links
        self._loop = asyncio.get_running_loop()
        self._up_at: float | None = None
        self._last_link = 0.0  # how long the last link lasted, in seconds
        self._short = 0  # links in a row the broker closed right after taking them
        self._short_on: set[str] = set()  # the brokers those links were to
        self.unreachable = False  # a connect attempt failed since the last link
        self._explained_at: float | None = None  # the broker's last reason of its own
        self._told: tuple[float, int] | None = None  # when the last warning was, at what count
        self._timer: asyncio.TimerHandle | None = None

    def message(self, settings: RefusalSettings | None = None) -> str:
        """What happens, and the fix in `settings`' words (None: the session's own)."""
        if self._sure:
            how = f"broker {self.broker_url} closed the link: session taken over by another "
            how += f"client with client id {self.client_id!r}"
        else:
            how = (
                f"broker {self.broker_url} closed the link within {SHORT_LINK_SECONDS:.0f} s of "
                f"taking it, {SHORT_LINKS} times in a row: most likely another client connects "
                f"with client id {self.client_id!r} and takes the session over"
            )
        fix = GIVE_OWN_ID if settings is None else settings.taken_over
        return (
            f"{how}; the two throw each other off and share what the broker keeps for the "
            f"session (its subscriptions, the messages waiting): {fix}"
        )

    def link_up(self, session_present: bool = False) -> None:
        """A link is up; `session_present`: the broker had the session (its CONNACK's flag)."""
        if self.persistent and not session_present and self._last_link >= RESTART_LINK_SECONDS:
            self._restart_count()  # a broker restarted without it; a takeover hands it over
        self._up_at = self._loop.time()
        self.unreachable = False
        self._stop_timer()
        self._timer = self._loop.call_later(HOLD_SECONDS, self._holds)

    def link_down(self, broker_url: str, reason: int, by_broker: bool = True) -> bool:
        """The link to `broker_url` is gone with `reason`: the broker's reason code when
        `by_broker` (it said so), else paho's for a link it lost or gave up on. Whether that was
        a sign of a takeover."""
        now = self._loop.time()
        self._last_link = 0.0 if self._up_at is None else now - self._up_at
        short = self._up_at is not None and self._last_link < SHORT_LINK_SECONDS
        self._up_at = None
        self._stop_timer()
        self.held.clear()
        if by_broker and reason not in UNSPECIFIC and reason != TAKEN_OVER:
            self._explained_at = now
        explained = self._explained_at is not None and now - self._explained_at < EXPLAINED_SECONDS
        if short and reason in UNSPECIFIC and not explained:
            self._short += 1
            self._short_on.add(broker_url)
        else:
            self._restart_count()
        if reason != TAKEN_OVER and self._short < SHORT_LINKS:
            return False
        self.signs += 1
        self.broker_url, self._sure = broker_url, reason == TAKEN_OVER
        self.taken_over.set()
        if self._told is None:
            log.warning("%s", self.message())
        elif now - self._told[0] >= TELL_AGAIN_SECONDS:
            log.warning(
                "%s (taken over %d times in the last %.0f s)",
                self.message(),
                self.signs - self._told[1],
                now - self._told[0],
            )
        else:
            return True
        self._told = (now, self.signs)
        return True

    def connect_failed(self, broker_url: str) -> None:
        """A connect attempt on `broker_url` failed (refused, unreachable). A broker whose links
        were short is away, then, not taken by another client, which it would have let in at
        once: the short links start again. Another broker (one of several) says nothing of it."""
        if broker_url in self._short_on:
            self._restart_count()
        self.unreachable = True

    def _restart_count(self) -> None:
        self._short = 0
        self._short_on.clear()

    def stop(self) -> None:
        self._stop_timer()

    def _holds(self) -> None:
        self._timer = None
        if self.taken_over.is_set():
            log.info(
                "broker %s: the session of client id %r has held for %.0f s; no other client "
                "took it over since",
                self.broker_url,
                self.client_id,
                HOLD_SECONDS,
            )
        self.taken_over.clear()
        self._told = None
        self.held.set()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
