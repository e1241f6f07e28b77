"""The centre's side of the soak test, on a plain paho client (independent of rxedge's MQTT
code) with a persistent session, so that nothing the gateway sends while the centre or the
broker is away is missed: the answers on cmd-result, procurement requests (applied once each,
by request_id), alarm states (the last one of each alarm) and the gateway's births. Every
message from the gateway is held to the MQTT contract; commands are sent wrapped in their
envelope and queued by paho while the broker is down."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter, defaultdict
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from sync.commands import with_envelope
from sync.contract import CENTRE, channel_of, check_topic
from tests.conftest import eventually

Answer = dict[str, Any]


class Centre:
    """One persistent MQTT 5 session on every topic of one gateway."""

    def __init__(self, port: int, prefix: str, client_id: str = "soak-centre"):
        self.prefix = prefix
        self.answers: defaultdict[str, list[Answer]] = defaultdict(list)  # command_id -> answers
        self.deliveries: Counter[str] = Counter()  # request_id -> times delivered
        self.requests: dict[str, Answer] = {}  # request_id -> the request, applied once
        self.alarms: dict[str, bytes] = {}  # alarm topic -> its last payload (b"" = cleared)
        self.births = 0
        self.messages = 0
        self.violations: list[str] = []
        self._lock = threading.Lock()
        self._loop = asyncio.get_running_loop()
        self.new_requests: asyncio.Queue[Answer] = asyncio.Queue()
        self._subscribed = threading.Event()
        self._acknowledged: set[int] = set()  # message ids of our commands the broker has
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self._client.on_connect = self._connected
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.on_message = lambda _c, _u, msg: self._receive(msg)
        self._client.on_publish = lambda _c, _u, mid, *_: self._acknowledged.add(mid)
        self._client.reconnect_delay_set(0.1, 0.5)  # type: ignore[arg-type]  # seconds, float
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = 3600  # the broker queues for us while we are away
        self._client.connect(
            "127.0.0.1", port, clean_start=mqtt.MQTT_CLEAN_START_FIRST_ONLY, properties=properties
        )
        self._client.loop_start()

    async def start(self) -> None:
        await eventually(self._subscribed.is_set, what="the centre subscribed")

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    @property
    def connected(self) -> bool:
        return self._client.is_connected()

    async def send(self, name: str, body: dict[str, Any], timeout: float = 120.0) -> None:
        """Publish a command (QoS 1) and wait for the broker's acknowledgement; a command sent
        while the broker is away waits in paho's queue until the session is back."""
        payload = json.dumps(with_envelope(body, ttl_seconds=600.0))
        info = self._client.publish(f"{self.prefix}/cmd/{name}", payload, qos=1)
        assert info.rc in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN), info.rc
        # (info.is_published() raises once a publish met no connection, even after paho has
        # sent it on the new one: the acknowledgement is watched here instead.)
        await eventually(
            lambda: info.mid in self._acknowledged, timeout, 0.05, f"cmd/{name} acknowledged"
        )

    def statuses(self, command_id: str) -> list[str]:
        with self._lock:
            return [str(a.get("status")) for a in self.answers.get(command_id, [])]

    def answered(self, command_id: str, status: str) -> Answer | None:
        """The first answer filed under `command_id` with `status`."""
        with self._lock:
            found = [a for a in self.answers.get(command_id, []) if a.get("status") == status]
        return found[0] if found else None

    def answers_with(self, status: str) -> list[Answer]:
        with self._lock:
            return [a for got in self.answers.values() for a in got if a.get("status") == status]

    def live_alarms(self) -> dict[str, bytes]:
        """Alarm topics whose last state is not cleared."""
        with self._lock:
            return {topic: payload for topic, payload in self.alarms.items() if payload}

    def _connected(
        self,
        client: mqtt.Client,
        _userdata: object,
        flags: mqtt.ConnectFlags,
        _reason: object,
        _properties: object,
    ) -> None:
        if not flags.session_present:  # a kept session keeps its subscription
            client.subscribe(f"{self.prefix}/#", qos=1)

    def _receive(self, msg: mqtt.MQTTMessage) -> None:
        topic, payload = msg.topic, bytes(msg.payload)
        found = channel_of(topic)
        if (found is not None and found[0].sender == CENTRE) or "/cmd/" in topic:
            return  # our own commands and status answers
        with self._lock:
            self.messages += 1
            try:
                self.violations += [f"{topic}: {p}" for p in check_topic(topic, payload)]
            except Exception as exc:  # never let a check stop paho's thread
                self.violations.append(f"{topic}: checking it failed: {exc!r}")
            if topic.endswith("/status"):
                self.births += payload == b"online"
            elif "/alarms/" in topic:
                self.alarms[topic] = payload
            elif topic.endswith("/cmd-result"):
                answer = json.loads(payload)
                self.answers[str(answer.get("command_id", ""))].append(answer)
            elif topic.endswith("/procurement/request"):
                request = json.loads(payload)
                rid = str(request["request_id"])
                self.deliveries[rid] += 1
                if rid not in self.requests:  # applied once, however often delivered
                    self.requests[rid] = request
                    self._loop.call_soon_threadsafe(self.new_requests.put_nowait, request)
