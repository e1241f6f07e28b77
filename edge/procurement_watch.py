"""`rxedge procurement watch`: the procurement clerk's live view of incoming requests."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import Callable

from sync.broker_url import BrokerAddress
from sync.mqtt_session import MqttSession
from sync.procurement_feed import ReceivedRequest, RequestDeduplicator
from sync.topics import ROOT


def request_topic(site: str | None, gateway: str | None) -> str:
    """The subscription for one gateway, one site, or every gateway (the default)."""
    return f"{ROOT}/{site or '+'}/{gateway or '+'}/procurement/request"


class ProcurementWatch:
    """Subscribes to procurement requests and hands each one (once) to `on_request`."""

    def __init__(
        self,
        broker: BrokerAddress,
        on_request: Callable[[ReceivedRequest], None],
        site: str | None = None,
        gateway: str | None = None,
        client_id: str | None = None,
    ):
        self.feed = RequestDeduplicator(on_request)
        # A named client keeps its session: requests sent while it was away arrive on return.
        self.session = MqttSession(
            broker,
            client_id or f"rxedge-watch-{socket.gethostname()}-{os.getpid()}",
            subscriptions=[request_topic(site, gateway)],
            on_message=self.feed,
            persistent=client_id is not None,
        )

    async def start(self) -> None:
        await self.session.start()

    async def stop(self) -> None:
        await self.session.stop()


async def watch(
    broker_url: str,
    as_json: bool,
    site: str | None,
    gateway: str | None,
    client_id: str | None,
    count: int | None,
    seconds: float | None,
) -> int:
    """Print requests as they arrive; stop after `count` requests or `seconds`, if given."""
    received = 0
    enough = asyncio.Event()

    def show(request: ReceivedRequest) -> None:
        nonlocal received
        print(json.dumps(request.body) if as_json else request.line(), flush=True)
        received += 1
        if count is not None and received >= count:
            enough.set()

    watcher = ProcurementWatch(BrokerAddress.parse(broker_url), show, site, gateway, client_id)
    await watcher.start()
    try:
        await asyncio.wait_for(watcher.session.subscribed.wait(), seconds)
        print(
            f"watching {request_topic(site, gateway)} on {broker_url}", file=sys.stderr, flush=True
        )
        await asyncio.wait_for(enough.wait(), seconds)
    except TimeoutError:
        pass
    finally:
        await watcher.stop()
    return 0 if count is None or received >= count else 1
