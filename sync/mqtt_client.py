"""paho clients for MQTT 5 or 3.1.1, made and connected the same way by every session, and the
messages a session speaks in (`Announcement`, `Delivery`).

What differs between the two is kept here: MQTT 5 asks at connect for a session that outlives
the connection (clean start off, a session expiry); 3.1.1 fixes it when the client is made
(clean session off) and has no expiry to ask for.

A broker can keep a connection up (it answers pings) and still acknowledge nothing: its
storage or its back end hangs. Messages waiting for a PUBACK that none has answered for a whole
keepalive make the session drop that link: paho sends them again (DUP) on the next one, to the
same broker or the next in order, so the outbox never waits on a mute broker for ever.

What the broker holds retained under a topic filter is read back by a subscription made for the
read and dropped after it (`RetainedReads`): the broker sends those messages right after its
SUBACK, back to back, so the read ends once none has come for a moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from sync.broker_url import BrokerAddress, BrokerRotation, MqttProtocol

log = logging.getLogger(__name__)
SESSION_EXPIRY_SECONDS = 7 * 24 * 3600
# MQTT 5's PUBACK reason "No matching subscribers": the broker took the message, and no client
# (nor any session kept for one away) subscribes to its topic, so nobody will get it.
NO_MATCHING_SUBSCRIBERS = 16
# A read of retained messages ends READ_QUIET s after the last one came, READ_MOST s at most.
READ_QUIET = 0.5
READ_MOST = 5.0
T = TypeVar("T")
# What the broker answered for each message of a batch: None (PUBACK) or the failure.
Answers = list[BaseException | None]
# A message of a batch: topic, payload, retain.
Outgoing = tuple[str, str | bytes, bool]


@dataclass(frozen=True, slots=True)
class Announcement:
    """A retained message: sent on every connect (birth) or left by the broker (will)."""

    topic: str
    payload: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """A message received with manual acknowledgement; `link` says which connection it came
    on (an acknowledgement on a later connection would be for another message)."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    link: int


MessageHandler = Callable[[str, bytes], None]
DeliveryHandler = Callable[[Delivery], None]


def make_client(
    client_id: str, protocol: MqttProtocol, persistent: bool, manual_ack: bool = False
) -> mqtt.Client:
    """A paho client for `protocol`; for 3.1.1 the session's persistence is fixed here (clean
    session off when `persistent`), for MQTT 5 at connect (`connect_properties`)."""
    if protocol == "3.1.1":
        return mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv311,
            clean_session=not persistent,
            manual_ack=manual_ack,
        )
    return mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
        manual_ack=manual_ack,
    )


def connect_async(
    client: mqtt.Client,
    broker: BrokerAddress,
    protocol: MqttProtocol,
    persistent: bool,
    keepalive: int,
) -> None:
    """Start connecting `client` to `broker` in the background. MQTT 5 asks for a session that
    outlives the connection by SESSION_EXPIRY_SECONDS; 3.1.1 has no expiry to ask for."""
    if protocol == "3.1.1":
        client.connect_async(broker.host, broker.port, keepalive=keepalive)
        return
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    if persistent:
        properties.SessionExpiryInterval = SESSION_EXPIRY_SECONDS
    client.connect_async(
        broker.host,
        broker.port,
        keepalive=keepalive,
        clean_start=not persistent,
        properties=properties,
    )


def fail_over(
    client: mqtt.Client,
    brokers: BrokerRotation,
    protocol: MqttProtocol,
    persistent: bool,
    keepalive: int,
) -> None:
    """After a lost link or a failed attempt (in paho's thread, from its callbacks), point the
    next attempt at the next broker; paho's back-off still spaces the attempts."""
    if len(brokers.brokers) > 1:
        connect_async(client, brokers.advance(), protocol, persistent, keepalive)


# Told of each answer of a batch as it arrives (on the loop): the message's index, its answer.
OnAnswer = Callable[[int, BaseException | None], None]


class BatchAnswers:
    """The answers of one batch of messages published together, filled in as PUBACKs arrive;
    `on_answer` (if given) hears of each one then, before the whole batch is answered."""

    __slots__ = ("answers", "future", "left", "on_answer")

    def __init__(self, future: asyncio.Future[Answers], size: int, on_answer: OnAnswer | None):
        self.future = future
        self.answers: Answers = [None] * size
        self.left = size
        self.on_answer = on_answer

    def answer(self, index: int, error: BaseException | None) -> None:
        self.answers[index] = error
        self.left -= 1
        if self.on_answer is not None:
            self.on_answer(index, error)
        if self.left == 0 and not self.future.done():
            self.future.set_result(self.answers)


class PubackWatch:
    """Closes the socket of the moment (`link()`, paho's) when messages wait (`waiting()` > 0)
    on a connected link (`connected()`) and no PUBACK came for `patience` seconds. Closed under
    paho's thread, the socket is a lost link to it: paho reconnects on its own (to the next
    broker, if several), where `disconnect()` would end its loop. Checked on the event loop."""

    def __init__(
        self,
        patience: float,
        waiting: Callable[[], int],
        connected: Callable[[], bool],
        link: Callable[[], object],
    ):
        self._patience = patience
        self._waiting = waiting
        self._connected = connected
        self._link = link
        self._loop = asyncio.get_running_loop()
        self._answered_at = self._loop.time()
        self._timer: asyncio.TimerHandle | None = None
        self.mute_links = 0  # links dropped because the broker acknowledged nothing

    def start(self) -> None:
        self._timer = self._loop.call_later(self._patience / 4, self._check)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def answered(self) -> None:
        """A PUBACK arrived, or a link came up: the broker's time to answer starts again."""
        self._answered_at = self._loop.time()

    def before_waiting(self) -> None:
        """A message is about to wait for its PUBACK: with none waiting before it, the
        broker's time to answer starts now."""
        if not self._waiting():
            self.answered()

    def _check(self) -> None:
        self.start()
        silent = self._loop.time() - self._answered_at
        if silent < self._patience or not self._connected() or not self._waiting():
            return
        self.mute_links += 1
        self.answered()  # the next link gets a whole keepalive of its own
        link = self._link()
        if not isinstance(link, socket.socket):  # TLS sockets are ones too
            return
        with contextlib.suppress(OSError):
            log.warning(
                "broker at %s:%d acknowledged none of %d messages in %.0f s; reconnecting to"
                " send them again",
                *link.getpeername()[:2],
                self._waiting(),
                silent,
            )
            link.shutdown(socket.SHUT_RDWR)


class RetainedReads:
    """Reads of what the broker holds retained under the topic filters given (`filters`), one
    read of a filter at a time, each through a QoS 0 subscription made for it and dropped after
    it. A message on one of these filters is a read's (`claims`), never handed to the session's
    receivers: one that comes outside a read (late, or through a subscription that a stop in
    the middle of a read left in a persistent session) is dropped."""

    def __init__(self, filters: Sequence[str]):
        self.filters = tuple(filters)
        self._loop = asyncio.get_running_loop()
        self._held: dict[str, dict[str, bytes]] = {}  # filter being read -> topic -> payload
        self._arrived = asyncio.Event()
        self._granted: dict[int, asyncio.Future[bool]] = {}  # subscription's mid -> SUBACK

    def claims(self, topic: str, payload: bytes) -> bool:
        """Whether a message that arrived (in paho's thread) is on one of the filters: then it
        goes to the read of that filter under way, if any."""
        if not any(mqtt.topic_matches_sub(f, topic) for f in self.filters):
            return False
        self._loop.call_soon_threadsafe(self._arrive, topic, payload)
        return True

    def answered(self, mid: int, granted: bool) -> bool:
        """A SUBACK arrived (on the event loop): whether it was a read's."""
        future = self._granted.pop(mid, None)
        if future is None:
            return False
        if not future.done():
            future.set_result(granted)
        return True

    async def read(
        self,
        client: mqtt.Client,
        topic_filter: str,
        quiet: float = READ_QUIET,
        most: float = READ_MOST,
    ) -> dict[str, bytes] | None:
        """Topic -> payload of each retained message under `topic_filter` (an empty payload is
        none), gathered until none came for `quiet` s (at most `most` s: what came by then).
        None when the broker refused the subscription, or did not answer it in time."""
        if topic_filter not in self.filters:
            raise ValueError(f"{topic_filter} is not among the filters to read: {self.filters}")
        result, mid = client.subscribe(topic_filter, qos=0)
        if result != mqtt.MQTT_ERR_SUCCESS or mid is None:
            return None
        # The SUBACK is handled on the loop after this returns, so registering now is in time.
        granted = self._granted[mid] = self._loop.create_future()
        held = self._held[topic_filter] = {}
        try:
            async with asyncio.timeout(most):
                if not await granted:
                    return None
                while True:
                    self._arrived.clear()
                    try:
                        async with asyncio.timeout(quiet):
                            await self._arrived.wait()
                    except TimeoutError:
                        return held
        except TimeoutError:
            return held if granted.done() and granted.result() else None
        finally:
            del self._held[topic_filter]
            self._granted.pop(mid, None)
            client.unsubscribe(topic_filter)

    def _arrive(self, topic: str, payload: bytes) -> None:
        for topic_filter, held in self._held.items():
            if mqtt.topic_matches_sub(topic_filter, topic):
                held[topic] = payload
                self._arrived.set()


async def answer_to(published: asyncio.Future[int], answer: Awaitable[T], timeout: float) -> T:
    """`answer` (an answer to the message `published`) within `timeout` seconds, TimeoutError
    otherwise. The broker's PUBACK is not waited for apart: an answer shows the message
    arrived, and a broker slow to acknowledge (a cluster electing a leader) has the whole
    wait. A broker refusing the message raises PublishRefused."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    answered = asyncio.ensure_future(answer)
    waiting: set[asyncio.Future[Any]] = {answered, published}
    try:
        while True:
            done, _ = await asyncio.wait(
                waiting, timeout=max(0.0, deadline - loop.time()), return_when="FIRST_COMPLETED"
            )
            if published in done:
                published.result()  # PublishRefused, if the broker refused it
                waiting.discard(published)
            if answered in done:
                return answered.result()
            if not done:
                raise TimeoutError
    finally:
        answered.cancel()
        if not published.done():  # a refusal coming later is read, not left unretrieved
            published.add_done_callback(_read)


def _read(future: asyncio.Future[int]) -> None:
    if not future.cancelled():
        future.exception()
