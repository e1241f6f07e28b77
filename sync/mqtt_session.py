"""An MQTT session for asyncio, over paho's network thread; one class serves the daemon and
the clerk's request consumer.

MQTT 5 by default, or 3.1.1 for brokers that speak only that. The session is persistent (clean
start off with a session expiry; 3.1.1: clean session off) so the broker keeps what was in
flight. Given several brokers, a failed attempt or a lost link moves on to the next in order,
with paho's back-off (0.25 s doubling to 1 s); a lasting refusal (protocol, account, client id)
sets `refusal` (sync.broker_refusal). ``publish`` returns a future completed by the PUBACK;
``publish_many`` one future for a whole batch, which keeps the loop's share of the outbox small.
Inbound messages reach `on_message`, or with manual acknowledgement `on_delivery`, acknowledged
only when the receiver calls `ack`. A mute broker's link is dropped (sync.mqtt_client); another
client taking the session over is told (`takeover`, sync.broker_refusal); a session that
`gives_way` then links no more, leaving the session to that client. The messages it speaks in
(`Announcement`, `Delivery`, `MessageHandler`) are sync.mqtt_client's, importable from here."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Sequence
from typing import NamedTuple

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from sync.broker_refusal import (
    BrokerRefusal,
    BrokerUnreachable,
    RefusalSettings,
    SessionTakeover,
    classify,
    until_set_or_refused,
)
from sync.broker_security import BrokerSecurity
from sync.broker_url import BrokerAddress, BrokerRotation, MqttProtocol
from sync.errors import PublishRefused
from sync.mqtt_client import Announcement as Announcement
from sync.mqtt_client import (
    Answers,
    BatchAnswers,
    DeliveryHandler,
    OnAnswer,
    Outgoing,
    PubackWatch,
    RetainedReads,
    connect_async,
    fail_over,
    make_client,
)
from sync.mqtt_client import Delivery as Delivery
from sync.mqtt_client import MessageHandler as MessageHandler
from sync.puback_answers import ACK_GROUP as ACK_GROUP
from sync.puback_answers import PubackAnswers

log = logging.getLogger(__name__)
# How long paho's thread (its retry due 0.25 s after a link went) waits for the loop, slower on a
# busy machine, to judge whether that was a takeover, for a session that gives way.
JUDGE_SECONDS = 2.0


class ConnectFailure(NamedTuple):
    """What a failed connect attempt met, and the broker it was made to (of those configured,
    the one the journal names)."""

    broker_url: str
    what: str  # "could not connect: [Errno 111] Connection refused"


class MqttSession:
    """One client connection, kept up for as long as the session runs."""

    def __init__(
        self,
        broker: BrokerAddress | Sequence[BrokerAddress],
        client_id: str,
        *,
        birth: Announcement | None = None,
        will: Announcement | None = None,
        subscriptions: Sequence[str] = (),
        on_message: MessageHandler | None = None,
        persistent: bool = True,
        keepalive: int = 30,
        security: BrokerSecurity | None = None,
        on_delivery: DeliveryHandler | None = None,
        protocol: MqttProtocol = "5",
        reads: Sequence[str] = (),
        gives_way: bool = False,
    ):
        """`broker`: one broker, or several tried in order; `security`: TLS files and the
        account (default: none; mqtts:// is checked against the system's CAs). `on_delivery`
        (instead of `on_message`): messages are acknowledged only by `ack`. `reads`: the topic
        filters `retained` may read; messages on them reach neither receiver. `gives_way`: from
        the first sign of a takeover on, the session links no more (it acknowledges nothing
        more either): the other client keeps the session, and is not thrown off again."""
        self.brokers = BrokerRotation(broker)
        self.protocol: MqttProtocol = protocol
        self.refusal: BrokerRefusal | None = None  # the last lasting refusal, if any
        self.refused = asyncio.Event()
        self.connected = asyncio.Event()
        self.lost = asyncio.Event()  # set when an established link goes, cleared when it is back
        self.subscribed = asyncio.Event()
        self._birth = birth
        self._subscriptions = list(subscriptions)
        self._on_message = on_message
        self._on_delivery = on_delivery
        self._reads = RetainedReads(reads)
        self._link = 0  # counts connects and disconnects
        self._persistent = persistent
        self._keepalive = keepalive
        self._loop = asyncio.get_running_loop()
        self.connects = 0
        self.takeover = SessionTakeover(client_id, persistent)
        self._stopping = False
        self._gives_way = gives_way
        # Set on paho's thread, broker and what together: repeats are logged quietly.
        self._last_failure: ConnectFailure | None = None
        client = make_client(client_id, protocol, persistent, manual_ack=on_delivery is not None)
        (security or BrokerSecurity()).apply(client, self.brokers.current)
        if will is not None:
            client.will_set(will.topic, will.payload, qos=1, retain=True)
        # paho sleeps on these as floats; sub-second retries bring the link back within ~1 s.
        client.reconnect_delay_set(min_delay=0.25, max_delay=1.0)  # type: ignore[arg-type]
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_paho_message
        client.on_subscribe = self._on_subscribe
        self._client = client
        self._answers = PubackAnswers(self._loop, self._puback_came)
        waiting = self._answers.waiting
        self.pubacks = PubackWatch(keepalive, waiting, self.connected.is_set, client.socket)

    @property
    def broker(self) -> BrokerAddress:
        """The broker connected to, or tried next."""
        return self.brokers.current

    @property
    def last_failure(self) -> ConnectFailure | None:
        """What the last connect attempt met ("could not connect: [Errno 111] Connection
        refused") and at which broker, or None once one succeeded (set on paho's thread)."""
        return self._last_failure

    async def start(self) -> None:
        """Begin connecting in the background; `connected` is set once the broker accepts."""
        connect_async(
            self._client, self.brokers.current, self.protocol, self._persistent, self._keepalive
        )
        self._client.loop_start()
        self.pubacks.start()

    async def until_connected(self, timeout: float | None, settings: RefusalSettings) -> None:
        """Wait until the broker accepts; BrokerRefused (its message spelling the fix as
        `settings` do) or BrokerUnreachable when it will not within `timeout` seconds (None:
        no limit)."""
        if not await until_set_or_refused(self.connected, self, settings, timeout):
            raise BrokerUnreachable(
                f"no broker answered within {timeout or 0:.0f} s at {self.brokers.describe()}"
                + (f" (last attempt: {failure.what})" if (failure := self._last_failure) else "")
            )

    async def stop(self, farewell: Announcement | None = None, timeout: float = 2.0) -> None:
        """Say `farewell` (if connected) and disconnect; the broker then does not send the will."""
        if farewell is not None and self.connected.is_set():
            try:
                await asyncio.wait_for(
                    self.publish(farewell.topic, farewell.payload, retain=True), timeout
                )
            except (TimeoutError, PublishRefused):
                log.warning("could not publish %s before disconnecting", farewell.topic)
        self._stopping = True
        self.pubacks.stop()
        self.takeover.stop()
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)
        self.connected.clear()
        self._answers.cancel_all()

    def publish(
        self, topic: str, payload: str | bytes, qos: int = 1, retain: bool = False
    ) -> asyncio.Future[int]:
        """Send one message; the future completes on PUBACK (QoS 1) or once written (QoS 0),
        with the PUBACK's reason code: 0, or with MQTT 5 NO_MATCHING_SUBSCRIBERS (the broker
        took it, but no client subscribes to the topic; MQTT 3.1.1 and QoS 0 never say so)."""
        future: asyncio.Future[int] = self._loop.create_future()
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if qos == 0 or info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            if info.rc in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                future.set_result(0)
            else:
                future.set_exception(PublishRefused(mqtt.error_string(info.rc)))
            return future
        self.pubacks.before_waiting()
        self._answers.wait_for(info.mid, future)
        return future

    def publish_many(
        self, messages: Sequence[Outgoing], on_answer: OnAnswer | None = None
    ) -> asyncio.Future[Answers]:
        """Send `messages` at QoS 1, in order. The future completes once every one of them has
        an answer: None for a PUBACK, PublishRefused for a refusal (by the broker or by paho);
        `on_answer` hears of each answer as it comes (some perhaps before this returns).
        Messages given while the link is down are sent when it is back."""
        future: asyncio.Future[Answers] = self._loop.create_future()
        if not messages:
            future.set_result([])
            return future
        batch = BatchAnswers(future, len(messages), on_answer)
        self.pubacks.before_waiting()
        publish, answers = self._client.publish, self._answers
        for index, (topic, payload, retain) in enumerate(messages):
            try:
                info = publish(topic, payload, qos=1, retain=retain)
            except ValueError as exc:  # a topic or payload MQTT cannot carry
                batch.answer(index, PublishRefused(str(exc)))
                continue
            if info.rc in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                answers.wait_in_batch(info.mid, batch, index)
            else:
                batch.answer(index, PublishRefused(mqtt.error_string(info.rc)))
        answers.count_waiting()
        return future

    def unsubscribe(self, topic_filter: str) -> None:
        """Drop a subscription from the session (one left there by another client)."""
        self._client.unsubscribe(topic_filter)

    async def retained(self, topic_filter: str) -> dict[str, bytes] | None:
        """What the broker holds retained under `topic_filter` (one of `reads`), topic ->
        payload, or None: sync.mqtt_client.RetainedReads.read."""
        return await self._reads.read(self._client, topic_filter)

    def current(self, delivery: Delivery) -> bool:
        """Whether `delivery` came on the connection of the moment (else `ack` cannot)."""
        return delivery.link == self._link

    def ack(self, delivery: Delivery) -> bool:
        """Acknowledge a delivery to the broker; False when the connection it came on is gone
        (the broker sends it again on the new one) or the session is stopping."""
        if delivery.qos == 0 or self._stopping or not self.current(delivery):
            return False
        self._client.ack(delivery.mid, delivery.qos)
        return True

    # paho's thread -----------------------------------------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: object,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        _properties: object,
    ) -> None:
        if reason.is_failure:
            refusal = classify(self.broker.url, self.protocol, reason.value, str(reason))
            if refusal is None:
                self._failed(f"refused the connection: {reason}")
                return
            # Told once by the session's owner, in the words of its settings.
            log.debug("broker %s refused the connection: %s", self.broker.url, reason)
            self._last_failure = ConnectFailure(
                self.broker.url, f"refused the connection: {reason}"
            )
            self._loop.call_soon_threadsafe(self._set_refused, refusal)
            return
        self._last_failure = None
        for topic in self._subscriptions:
            client.subscribe(topic, qos=1)
        if self._birth is not None:
            client.publish(self._birth.topic, self._birth.payload, qos=1, retain=True)
        self._loop.call_soon_threadsafe(self._set_connected, True, flags.session_present)

    def _on_connect_fail(self, _client: mqtt.Client, _userdata: object) -> None:
        # paho calls this while it handles the error (a TLS check that failed, a refused port).
        self._failed(f"could not connect: {sys.exc_info()[1] or 'connection failed'}")
        self._next_broker()

    def _next_broker(self) -> None:
        if not self._stopping:
            fail_over(self._client, self.brokers, self.protocol, self._persistent, self._keepalive)

    def _failed(self, what: str) -> None:
        """Log a failed connection attempt: as a warning when it differs from the last one."""
        last, url = self._last_failure, self.broker.url
        level = logging.DEBUG if last is not None and what == last.what else logging.WARNING
        self._last_failure = ConnectFailure(url, what)
        log.log(level, "broker %s: %s", url, what)
        self._loop.call_soon_threadsafe(self.takeover.connect_failed, self.broker.url)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        _userdata: object,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        _properties: object,
    ) -> None:
        lost = (self.broker.url, reason.value, str(reason), flags.is_disconnect_packet_from_server)
        self._next_broker()
        judged = threading.Event()
        self._loop.call_soon_threadsafe(self._lost, *lost, judged)
        if self._gives_way and not self._stopping:
            judged.wait(JUDGE_SECONDS)  # no retry before: it would throw the other client off
            if self._stopping:
                client.loop_stop()  # from its own thread: ends its loop, no retry

    def _on_publish(
        self,
        _client: mqtt.Client,
        _userdata: object,
        mid: int,
        reason: ReasonCode,
        _properties: object,
    ) -> None:
        self._answers.arrived(mid, reason)

    def _on_subscribe(
        self,
        _client: mqtt.Client,
        _userdata: object,
        mid: int,
        reasons: list[ReasonCode],
        _properties: object,
    ) -> None:
        if refused := any(reason.is_failure for reason in reasons):
            log.error("broker %s refused a subscription: %s", self.broker.url, reasons)
        self._loop.call_soon_threadsafe(self._subscription_answered, mid, not refused)

    def _on_paho_message(
        self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage
    ) -> None:
        if self._reads.claims(msg.topic, bytes(msg.payload)):
            return
        if self._on_delivery is not None:
            arrived = (msg.topic, bytes(msg.payload), msg.mid, msg.qos)
            self._loop.call_soon_threadsafe(self._delivered, *arrived)
        elif self._on_message is not None:
            self._loop.call_soon_threadsafe(self._on_message, msg.topic, bytes(msg.payload))

    # the event loop ----------------------------------------------------------------------------

    def _subscription_answered(self, mid: int, granted: bool) -> None:
        if not self._reads.answered(mid, granted) and granted:
            self.subscribed.set()

    def _delivered(self, topic: str, payload: bytes, mid: int, qos: int) -> None:
        assert self._on_delivery is not None
        self._on_delivery(Delivery(topic, payload, mid, qos, self._link))

    def _set_refused(self, refusal: BrokerRefusal) -> None:
        self.takeover.connect_failed(refusal.broker_url)
        self.refusal = refusal
        self.refused.set()

    def _lost(
        self, broker_url: str, reason: int, said: str, by_broker: bool, judged: threading.Event
    ) -> None:
        """The link to `broker_url` is gone: `by_broker`, the broker said `reason` (a DISCONNECT);
        else paho lost the link, or gave up on it. `judged`: told, for paho's thread."""
        try:
            going_on = self.takeover.taken_over.is_set()  # then no line for each further throw
            sign = not self._stopping and self.takeover.link_down(broker_url, reason, by_broker)
            if not sign or not going_on:
                log.info("disconnected from %s: %s", broker_url, said)
            self._set_connected(False)
            if sign and self._gives_way:
                self._give_way()
        finally:
            judged.set()

    def _give_way(self) -> None:
        """Link no more: paho's thread, told in time, ends instead of retrying; told late, it
        ends its wait to retry, or the link it made meanwhile."""
        self._stopping = True
        self._client.disconnect()

    def _set_connected(self, up: bool, session_present: bool = False) -> None:
        """The link is up (`session_present`: the broker had kept the session) or gone."""
        self._link += 1
        if up:
            self.takeover.link_up(session_present)
            self.pubacks.answered()
            self.refusal = None
            self.refused.clear()
            self.connects += 1
            self.lost.clear()
            self.connected.set()
        else:
            if self.connected.is_set():
                self.lost.set()
            self.connected.clear()
            self._answers.drain()  # PUBACKs held back while busy are not left waiting

    def _puback_came(self) -> None:
        self.pubacks.answered()
