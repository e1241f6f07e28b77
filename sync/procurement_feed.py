"""The procurement side of the contract: receiving requests from every gateway, once each.

Delivery is at least once. `RequestDeduplicator` makes the consumer's effect once per request
(its gateway and request_id: `RequestKey`), across restarts too when its `SeenRequests` keeps a
file. `RequestConsumer` is the subscription itself: a message is acknowledged to the broker
(PUBACK) only after the handler has finished with it, so a consumer that dies half-way gets the
message again on its return (with a persistent session) instead of losing it.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NamedTuple
from urllib.parse import quote, unquote

from sync.broker_refusal import (
    BrokerRefusal,
    BrokerUnreachable,
    RefusalSettings,
    until_set_or_refused,
)
from sync.broker_security import BrokerSecurity
from sync.broker_url import BrokerAddress, BrokerRotation, MqttProtocol
from sync.contract import check_topic
from sync.errors import SyncError
from sync.inbound_json import read_json
from sync.mqtt_session import Delivery, MqttSession
from sync.topics import ROOT, Topics

log = logging.getLogger(__name__)
# What a NATS key-value key may hold of a name (besides the dots between the key's levels).
KEY_SAFE = frozenset(b"-_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


def request_subscription(
    site: str | None = None, gateway: str | None = None, group: str | None = None
) -> str:
    """The request topic of one gateway, one site or every gateway (the default); with a
    `group`, as an MQTT 5 shared subscription: the members of the group on this same topic
    split its messages (a broker tells shared subscriptions apart by group and topic); MQTT
    3.1.1 has none: a group there is the engine's, see sync.jetstream."""
    topic = f"{ROOT}/{site or '+'}/{gateway or '+'}/procurement/request"
    return f"$share/{group}/{topic}" if group else topic


class RequestKey(NamedTuple):
    """A request as the centre tells requests apart: the gateway that sent it and its id (the
    same id from another gateway, a ledger copied to it, is another request). Site and gateway
    are empty for an id kept before keys named them (a seen file of an older watch): it stands
    for that id from any gateway."""

    site: str
    gateway: str
    request_id: str

    @classmethod
    def read(cls, line: str) -> RequestKey:
        """The key a line of a seen file holds: `site/gateway/request_id`, or an id alone."""
        levels = line.split("/")
        if len(levels) != 3:
            return cls("", "", line.strip())
        site, gateway, request_id = levels
        return cls(unquote(site), unquote(gateway), request_id.strip())

    def written(self) -> str:
        """The key as a seen file's line holds it, `site/gateway/request_id` (no name holds a
        slash: a topic's levels), each name as it is but for `%` and the characters a line could
        be broken or trimmed at (control characters, separators, spaces but the plain one),
        written %XX as in a URL: read back, the line gives any name the contract allows."""
        if not (self.site or self.gateway):
            return self.request_id
        names = (
            "".join(c if c.isprintable() and c != "%" else quote(c, safe="") for c in name)
            for name in (self.site, self.gateway)
        )
        return "/".join([*names, self.request_id])

    def dotted(self) -> str:
        """The key as a NATS key-value store takes it, `site.gateway.request_id`: each byte of
        a name such a key may not hold is written =XX."""
        names = (self.site, self.gateway)
        safe = (
            "".join(chr(b) if b in KEY_SAFE else f"={b:02X}" for b in n.encode()) for n in names
        )
        return ".".join([*safe, self.request_id])


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    """A procurement request as the centre receives it."""

    topic: str
    body: dict[str, Any]

    @property
    def request_id(self) -> str:
        return str(self.body["request_id"])

    @property
    def topics(self) -> Topics:
        """The sending gateway's topics, from the topic the request came on."""
        levels = self.topic.split("/")
        return Topics(levels[2], levels[3])

    @property
    def key(self) -> RequestKey:
        topics = self.topics
        return RequestKey(topics.site, topics.gateway, self.request_id)

    @property
    def sent_again(self) -> int:
        """How many times the gateway sent the request before this copy, for want of an
        answer (`sent_again`); 0 for its first message."""
        times = self.body.get("sent_again")
        if isinstance(times, float) and times.is_integer():
            times = int(times)  # JSON has one kind of number: 2.0 is 2
        if not isinstance(times, int) or isinstance(times, bool) or times < 1:
            return 0
        return times


class MalformedRequest(SyncError, ValueError):
    """A message on a request topic that is not a valid request."""


def parse_request(topic: str, payload: bytes) -> ReceivedRequest:
    """Decode one request message and check it in full against the contract (its schema, and
    its site and gateway against the topic's) before anything is done with it; MalformedRequest
    says everything that is wrong."""
    levels = topic.split("/")
    if len(levels) != 6 or "/".join(levels[:2]) != ROOT or levels[4:] != ["procurement", "request"]:
        raise MalformedRequest(f"{topic}: not a procurement request topic")
    problems = check_topic(topic, payload)
    if problems:
        raise MalformedRequest(f"{topic}: {'; '.join(problems)}")
    return ReceivedRequest(topic, read_json(payload))


def cut_torn_line(path: Path) -> None:
    """Cut a last line left without its end (the writer stopped half-way through it: a full
    disk, a power cut), so that the next line written starts a line of its own. What it was
    writing was not acknowledged, so it comes again and is written whole."""
    if not path.exists():
        return
    with path.open("rb+") as held:
        size = held.seek(0, os.SEEK_END)
        kept = size
        while kept > 0:  # back to just after the last line end
            start = max(kept - 65536, 0)
            held.seek(start)
            end = held.read(kept - start).rfind(b"\n")
            if end >= 0:
                kept = start + end + 1
                break
            kept = start
        if kept == size:
            return
        held.seek(kept)
        log.warning("%s: cut the unfinished last line %r", path, held.read(80))
        held.truncate(kept)
        held.flush()
        os.fsync(held.fileno())


def read_seen(path: Path) -> list[RequestKey]:
    """The requests a seen file holds, oldest first (an older watch's lines: ids alone). A line
    ends at a line feed only (a carriage return before it, from an editor, is dropped): a name
    holds no other character a line could end at (`RequestKey.written`)."""
    if not path.exists():
        return []
    lines = path.read_bytes().decode("utf-8").split("\n")
    return [RequestKey.read(line.removesuffix("\r")) for line in lines if line.strip()]


class SeenRequests:
    """The requests a consumer has finished with, the latest `memory` of them; kept in `path`
    too (one a line, `site/gateway/request_id`, each written and synced as it is added) when
    given, so that a restarted consumer still knows them."""

    def __init__(self, path: Path | None = None, memory: int = 100_000):
        self._keys: OrderedDict[RequestKey, None] = OrderedDict()
        self._memory = memory
        self._path = path
        self._file: IO[str] | None = None
        self._lines = 0
        if path is not None:
            cut_torn_line(path)
            for key in read_seen(path):
                self._keep(key)
                self._lines += 1
            if self._lines > 2 * memory:
                self._compact(path)
            self._file = path.open("a", encoding="utf-8")

    def __contains__(self, key: object) -> bool:
        """True for a request finished with, or its id kept alone (from an older file)."""
        if not isinstance(key, RequestKey):
            return False
        return key in self._keys or RequestKey("", "", key.request_id) in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: RequestKey) -> None:
        """Remember `key` (on disk before this returns, when there is a file)."""
        if key in self._keys:
            return
        self._keep(key)
        if self._file is not None:
            self._file.write(key.written() + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())

    def know(self, keys: Iterable[RequestKey]) -> None:
        """Remember requests that are kept elsewhere (not written to the file)."""
        for key in keys:
            self._keep(key)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _keep(self, key: RequestKey) -> None:
        if not key.request_id:
            return
        self._keys[key] = None
        self._keys.move_to_end(key)
        if len(self._keys) > self._memory:
            self._keys.popitem(last=False)

    def _compact(self, path: Path) -> None:
        spare = path.with_name(path.name + ".new")
        spare.write_text("".join(f"{key.written()}\n" for key in self._keys), encoding="utf-8")
        os.replace(spare, path)
        self._lines = len(self._keys)


class RequestDeduplicator:
    """Delivery is at least once; this makes the clerk take each request once.

    Called with a message, it hands a new request to `on_request` and remembers it. A consumer
    that must finish more work first (write it down, answer it) uses `new` and, once done,
    `done`, so that a request it dropped half-way is taken again when it is delivered again.
    A copy of a request taken before that its gateway sent again for want of an answer goes to
    `on_repeat` (the clerk must hear that the gateway has none), not to be taken again."""

    def __init__(
        self,
        on_request: Callable[[ReceivedRequest], None] | None = None,
        memory: int = 100_000,
        seen: SeenRequests | None = None,
        on_repeat: Callable[[ReceivedRequest], None] | None = None,
    ):
        self._on_request = on_request
        self._on_repeat = on_repeat
        self.seen = seen if seen is not None else SeenRequests(memory=memory)
        self.duplicates = 0
        self.malformed = 0

    def __call__(self, topic: str, payload: bytes) -> None:
        request = self.new(topic, payload)
        if request is None:
            return
        if self._on_request is not None:
            self._on_request(request)
        self.done(request)

    def new(self, topic: str, payload: bytes) -> ReceivedRequest | None:
        """The request in this message, or None when it is malformed or already done (a copy
        sent again handed to `on_repeat` first)."""
        try:
            request = parse_request(topic, payload)
        except MalformedRequest as exc:
            self.malformed += 1
            log.warning("dropped a malformed request, not acted on: %s", exc)
            return None
        if request.key in self.seen:
            self.duplicates += 1
            if request.sent_again and self._on_repeat is not None:
                self._on_repeat(request)
            return None
        return request

    def done(self, request: ReceivedRequest) -> None:
        """The consumer has finished with `request`: later copies are duplicates."""
        self.seen.add(request.key)


MessageWork = Callable[[str, bytes], Awaitable[None]]


class RequestConsumer:
    """A subscription whose messages are acknowledged only once `handle` has finished with
    each, one at a time in arrival order. `persistent` keeps the session (and the messages
    not yet acknowledged) at the broker while the consumer is away. `wanted` is asked before
    each message: once it says no (or `take_no_more` was called), the consumer stops taking
    messages (`stopped` is set) and leaves that one and the rest unacknowledged."""

    def __init__(
        self,
        broker: BrokerAddress | Sequence[BrokerAddress],
        client_id: str,
        subscription: str,
        handle: MessageWork,
        persistent: bool = False,
        keepalive: int = 30,
        security: BrokerSecurity | None = None,
        protocol: MqttProtocol = "5",
        wanted: Callable[[], bool] = lambda: True,
    ):
        if protocol == "3.1.1" and subscription.startswith("$share/"):
            raise ValueError("MQTT 3.1.1 has no shared subscriptions: subscribe without a group")
        self.subscription = subscription
        self.deliveries = 0  # messages received, copies included
        self.failed: Exception | None = None  # what stopped the handling, if anything
        self.stopped = asyncio.Event()
        self._handle = handle
        self._wanted = wanted
        self._queue: asyncio.Queue[Delivery | None] = asyncio.Queue()  # None: wanted no more
        self._worker: asyncio.Task[None] | None = None
        self._session = MqttSession(
            broker,
            client_id,
            subscriptions=[subscription],
            persistent=persistent,
            keepalive=keepalive,
            security=security,
            on_delivery=self._arrived,
            protocol=protocol,
            gives_way=True,  # taken over, it links no more: the other client keeps the session
        )
        self.connected = self._session.connected
        self.lost = self._session.lost
        self.subscribed = self._session.subscribed
        self.refused = self._session.refused
        self.takeover = self._session.takeover

    @property
    def brokers(self) -> BrokerRotation:
        return self._session.brokers

    @property
    def refusal(self) -> BrokerRefusal | None:
        """The broker's lasting refusal of the last attempt, if any."""
        return self._session.refusal

    async def start(self) -> None:
        """Begin connecting in the background and handling what arrives."""
        self._worker = asyncio.create_task(self._work(), name="request consumer")
        await self._session.start()

    async def until_subscribed(self, timeout: float, settings: RefusalSettings) -> None:
        """Wait for the subscription; BrokerRefused (its message spelling the fix as `settings`
        do) or BrokerUnreachable when it will not be made within `timeout` seconds."""
        if not await until_set_or_refused(self.subscribed, self._session, settings, timeout):
            raise BrokerUnreachable(
                f"could not subscribe within {timeout:.0f} s at {self.brokers.describe()}"
            )

    def take_no_more(self) -> None:
        """Take no further message: the one in hand, if any, is still handled and acknowledged,
        then `stopped` is set; those waiting stay unacknowledged, for the session's next time."""
        self._wanted = lambda: False
        self._queue.put_nowait(None)  # wakes a worker waiting for a message

    async def stop(self) -> None:
        """Stop at once and disconnect; the unacknowledged (one in hand too) stay at the broker."""
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        await self._session.stop()

    async def _work(self) -> None:
        try:
            while True:
                delivery = await self._queue.get()
                await asyncio.sleep(0)  # a lost link, told meanwhile by paho's thread, first
                if delivery is None or not self._wanted():
                    return
                # Handled even when its link is gone: a broker that lost it (killed, restarted
                # without saving) does not hand it over again; one that does, hands a copy.
                await self._handle(delivery.topic, delivery.payload)
                self._session.ack(delivery)
        except Exception as exc:
            self.failed = exc
            log.error("handling a message on %s failed: %r", self.subscription, exc)
        finally:
            self.stopped.set()

    def _arrived(self, delivery: Delivery) -> None:
        self.deliveries += 1
        self._queue.put_nowait(delivery)
