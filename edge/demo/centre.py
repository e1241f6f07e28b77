"""The central office, as the demo needs it: it sends pick lists on ``cmd/pick`` as the real
centre would, hears every answer on ``cmd-result``, receives procurement requests, and its
procurement clerk answers them on ``procurement/status``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from edge.cli.broker_options import own_client_id
from edge.cli.procurement.watch import ProcurementWatch, status_answer
from sync.broker_refusal import OPTION_SETTINGS
from sync.broker_url import MqttProtocol, parse_broker_list
from sync.commands import with_envelope
from sync.contract import check_topic
from sync.mqtt_session import MqttSession
from sync.procurement_feed import ReceivedRequest
from sync.topics import Topics

Answer = dict[str, Any]


class DemoCentre:
    """Sends commands and keeps what comes back, by command id, in arrival order."""

    def __init__(
        self,
        broker_url: str,
        topics: Topics,
        on_answer: Callable[[Answer], None],
        on_request: Callable[[ReceivedRequest], None],
        protocol: MqttProtocol = "5",
    ):
        self.topics = topics
        self.answers: list[Answer] = []
        self.requests: list[ReceivedRequest] = []
        self._on_answer = on_answer
        self._on_request = on_request
        brokers = parse_broker_list(broker_url)
        self.session = MqttSession(
            brokers,
            own_client_id("demo-centre"),
            subscriptions=[topics.command_result],
            on_message=self._answer,
            persistent=False,
            protocol=protocol,
        )
        self.watch = ProcurementWatch(
            brokers, self._request, site=topics.site, gateway=topics.gateway, protocol=protocol
        )

    async def start(self, timeout: float = 10.0) -> None:
        """Connect both sessions and wait until they are subscribed: BrokerRefused or
        BrokerUnreachable (their messages name the fix) when they cannot be."""
        await self.session.start()
        await self.watch.start()
        await self.session.until_connected(timeout, OPTION_SETTINGS)
        await asyncio.wait_for(self.session.subscribed.wait(), timeout)
        await self.watch.until_subscribed(timeout)

    async def stop(self) -> None:
        await self.session.stop()
        await self.watch.stop()

    async def send(self, name: str, body: dict[str, object], timeout: float = 10.0) -> None:
        """Publish ``cmd/{name}`` (QoS 1) and wait for the broker's acknowledgement."""
        await asyncio.wait_for(
            self.session.publish(self.topics.command(name), json.dumps(with_envelope(body))),
            timeout,
        )

    async def answer(
        self, request_id: str, state: str, note: str, by: str, timeout: float = 10.0
    ) -> None:
        """The clerk's answer about a request, checked against the contract, published (QoS 1)
        on the gateway's ``procurement/status``."""
        topic = self.topics.procurement_status
        payload = json.dumps(status_answer(request_id, state, note, by))
        problems = check_topic(topic, payload)
        if problems:
            raise ValueError(f"the clerk's answer breaks the contract: {'; '.join(problems)}")
        await asyncio.wait_for(self.session.publish(topic, payload), timeout)

    def of(self, command_id: str, status: str | None = None) -> list[Answer]:
        """Answers about `command_id` (with `status`, if given)."""
        return [
            a
            for a in self.answers
            if a.get("command_id") == command_id and (status is None or a.get("status") == status)
        ]

    def _answer(self, _topic: str, payload: bytes) -> None:
        try:
            answer = json.loads(payload)
        except ValueError:
            return
        if isinstance(answer, dict):
            self.answers.append(answer)
            self._on_answer(answer)

    def _request(self, request: ReceivedRequest) -> None:
        self.requests.append(request)
        self._on_request(request)
