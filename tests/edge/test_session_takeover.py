"""Two gateways whose names differ only by where the '-' falls (site north-ward, gateway 1 and
site north, gateway ward-1) get one default client id, rxedge-north-ward-1: one session at the
broker, which each takes over from the other several times a second, with both gateways'
subscriptions in it. Each gateway raises its broker link's alarm (naming the client id and the
setting that fixes it), carries out and answers only what is sent to its own topics, and leaves
the other's messages with the broker, so that the other gateway gets them. Given a client id of
its own, the other gateway's messages stop coming and both alarms clear. Real mosquitto, both
daemons in-process."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edge.clock import Clock
from edge.daemon import ledger_questions as ask
from edge.daemon.gateway import Gateway
from edge.daemon.stocktake_flow import StocktakeFlow
from edge.demo.local_broker import LocalBroker
from edge.inbound.commands import InboundCommands
from edge.settings.config import parse_config
from inventory.alarms.lifecycle import AlarmKind
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from inventory.site_calendar import SiteCalendar
from sync.broker_refusal import RESTART_LINK_SECONDS
from sync.commands import with_envelope
from sync.mqtt_session import Delivery
from sync.topics import Topics
from tests.conftest import Subscriber, eventually, retained_at, subscribed

AMOX = "04012345123456"
SHARED_ID = "rxedge-north-ward-1"
WARD = "rxedge/v1/north-ward/1"  # site north-ward, gateway 1
OTHER = "rxedge/v1/north/ward-1"  # site north, gateway ward-1
BROKER_ALARM = "device_down-broker"
AT = "2026-11-26T10:00:00.000Z"


def settings(tmp_path: Path, broker: LocalBroker, site: str, gateway: str, **broker_keys: str):
    db = tmp_path / f"{site}__{gateway}.sqlite"
    if not db.exists():
        keeper = InventoryKeeper(db, {}, site, gateway)
        keeper.commit(
            [
                Movement(
                    MovementKind.PUT_AWAY, AMOX, 2, batch="B1", expiry="2030-12-31", to_slot="A-01"
                )
            ]
        )
        keeper.close()
    product = {"gtin": AMOX, "name": "Amoxicillin 500 mg", "reorder_point": 0, "par": 2}
    return {
        "site": site,
        "gateway": gateway,
        "database": str(db),
        "broker": {"url": broker.url, **broker_keys},
        "products": [{**product, "require_serial": False}],
    }


async def start(config: dict[str, Any]) -> tuple[Gateway, asyncio.Task[None]]:
    gateway = Gateway(parse_config(config))
    task = asyncio.create_task(gateway.run())
    await eventually(gateway.ready.is_set, what="the gateway ready")
    await subscribed(gateway)
    return gateway, task


async def stop(gateway: Gateway, task: asyncio.Task[None]) -> None:
    gateway.stop()
    await asyncio.wait_for(task, 15)


def taken_over(gateway: Gateway) -> bool:
    return gateway.session is not None and gateway.session.takeover.taken_over.is_set()


async def broker_alarm(gateway: Gateway) -> dict[str, Any] | None:
    alarms = await gateway.ledger.ask(ask.live_alarms)
    found = [a for a in alarms if a.kind is AlarmKind.DEVICE_DOWN and a.subject == "broker"]
    return dict(found[0].detail) if found else None


def answers(centre: Subscriber, prefix: str) -> list[dict[str, Any]]:
    return [json.loads(m.payload) for m in centre.drain() if m.topic == f"{prefix}/cmd-result"]


def answered(centre: Subscriber, prefix: str, command_id: str) -> list[object]:
    return [a["status"] for a in answers(centre, prefix) if a.get("command_id") == command_id]


async def test_gateways_sharing_a_client_id_alarm_and_each_acts_only_on_its_own_topics(
    tmp_path: Path,
    broker: LocalBroker,
    subscribe: Callable[..., Subscriber],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Raised at once where the code before had no such setting (raising=False).
    monkeypatch.setattr("sync.broker_refusal.HOLD_SECONDS", 2.0, raising=False)
    caplog.set_level(logging.WARNING, "edge.inbound.commands")
    centre = subscribe(f"{WARD}/cmd-result", f"{OTHER}/cmd-result")
    ward, ward_task = await start(settings(tmp_path, broker, "north-ward", "1"))
    other, other_task = await start(settings(tmp_path, broker, "north", "ward-1"))
    try:
        assert ward.config.client_id == other.config.client_id == SHARED_ID
        # Commands and answers to the other gateway, sent while the two throw each other
        # off: carried out there, each of them, and never here.
        located, statuses = [f"where-{n}" for n in range(6)], []
        for command_id in located:
            locate = with_envelope({"gtin": AMOX, "seconds": 1, "command_id": command_id})
            centre.publish(f"{OTHER}/cmd/locate", json.dumps(locate))
            request_id = str(uuid.uuid4())
            status = {"request_id": request_id, "status": "ordered", "at": AT}
            centre.publish(f"{OTHER}/procurement/status", json.dumps(status))
            statuses.append(request_id)
            await asyncio.sleep(0.15)  # landing on one link or the next
        await eventually(
            lambda: (
                answers(centre, WARD)
                or all("located" in answered(centre, OTHER, c) for c in located)
            ),
            timeout=30,
            what="every locate answered",
        )
        assert answers(centre, WARD) == [], "carried out by the gateway it was not sent to"
        await eventually(
            lambda: all(any(r in json.dumps(a) for a in answers(centre, OTHER)) for r in statuses),
            timeout=30,
            what="the other gateway answered each procurement status",
        )
        assert answers(centre, WARD) == [], "nothing sent to the other was done or answered here"

        # Each gateway says so, and raises its broker link's alarm.
        await eventually(lambda: taken_over(ward) and taken_over(other), what="both told")
        for gateway in (ward, other):
            detail = await eventually(lambda g=gateway: broker_alarm(g), what="the alarm raised")
            assert detail["device"] == "broker" and detail["client_id"] == SHARED_ID
            assert f"client id '{SHARED_ID}'" in detail["reason"]
            assert "give each gateway its own broker.client_id" in detail["reason"]
        await eventually(
            lambda: (
                BROKER_ALARM.encode()
                in retained_at(broker.port, f"{WARD}/alarms/+").get(
                    f"{WARD}/alarms/{BROKER_ALARM}", b""
                )
            ),
            what="the alarm at the broker",
        )

        # The other gateway gets a client id of its own: the session holds, both alarms clear.
        await stop(other, other_task)
        own = settings(tmp_path, broker, "north", "ward-1", client_id="rxedge-north-ward-1-b")
        other, other_task = await start(own)
        await eventually(
            lambda: ward.session is not None and ward.session.takeover.held.is_set(),
            what="this gateway's session held",
        )
        for gateway in (ward, other):
            await eventually(
                lambda g=gateway: _none(broker_alarm(g)), what="the broker link's alarm cleared"
            )
        # The subscription the other gateway left in this gateway's session is dropped with
        # the first copy that comes through it (if one still does): no more copies come.
        dropped = len(drops(caplog))
        for command_id in ("where-again", "where-third"):
            again = with_envelope({"gtin": AMOX, "seconds": 1, "command_id": command_id})
            centre.publish(f"{OTHER}/cmd/locate", json.dumps(again))
            await eventually(
                lambda c=command_id: "located" in answered(centre, OTHER, c),
                what="the other gateway, on its own session, answered",
            )
        assert len(drops(caplog)) <= dropped + 1
        assert answers(centre, WARD) == [] and ward.counters["commands"] == 0
    finally:
        await stop(other, other_task)
        await stop(ward, ward_task)


async def _none(value: Any) -> bool:
    return await value is None


def drops(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The messages on the other gateway's topics this one acknowledged and dropped."""
    return [
        r.getMessage()
        for r in caplog.records
        if "that gateway's subscriptions removed" in r.getMessage()
    ]


def ward_inbound(
    acked: list[Delivery],
    alone: Callable[[], bool],
    unsubscribe: Callable[[str], object] = lambda _filter: None,
) -> InboundCommands:
    """Gateway north-ward/1's inbound commands as a unit: what it acknowledges goes to
    `acked`; `alone` and `unsubscribe` as the session gives them."""
    config = parse_config(
        {"site": "north-ward", "gateway": "1", "database": "/var/lib/rxedge/ledger.sqlite"}
    )
    clock = Clock()
    return InboundCommands(
        config,
        Topics("north-ward", "1"),
        lambda _change: True,
        lambda then: then(),
        lambda delivery: acked.append(delivery) or True,
        StocktakeFlow(config, lambda _c: True, lambda _a: None, dict, clock, SiteCalendar()),
        lambda: "",
        Counter(),
        clock,
        alone=alone,
        unsubscribe=unsubscribe,
    )


async def test_a_message_for_another_gateway_waits_with_the_broker_until_the_session_holds() -> (
    None
):
    """As a unit: not taken in, not acknowledged while the session may be shared; once it has
    held, acknowledged and dropped, and the other gateway's subscriptions removed."""
    acked: list[Delivery] = []
    dropped: list[str] = []
    alone = False
    inbound = ward_inbound(acked, lambda: alone, dropped.append)
    body = json.dumps(with_envelope({"gtin": AMOX, "command_id": "c1"})).encode()
    theirs = Delivery(f"{OTHER}/cmd/locate", body, mid=1, qos=1, link=1)
    ours = Delivery(f"{WARD}/cmd/locate", body, mid=2, qos=1, link=1)
    inbound.on_delivery(theirs)
    inbound.on_delivery(ours)
    assert acked == [] and dropped == []
    assert inbound._in_turn.qsize() == 1, "only this gateway's own command waits its turn"
    alone = True
    inbound.session_held()
    assert acked == [theirs]
    assert dropped == [f"{OTHER}/cmd/+", f"{OTHER}/procurement/status"]


async def test_a_message_on_the_gateways_own_prefix_never_drops_its_own_subscriptions(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Its own procurement request, come back through a subscription another client left in
    the session: acknowledged and dropped, and the gateway's cmd/+ and procurement/status
    subscriptions kept (another gateway's, come the same way, are removed)."""
    acked: list[Delivery] = []
    dropped: list[str] = []
    inbound = ward_inbound(acked, lambda: True, dropped.append)
    own = Delivery(f"{WARD}/procurement/request", b"{}", mid=1, qos=1, link=1)
    inbound.on_delivery(own)
    assert acked == [own] and dropped == [], "its own subscriptions kept"
    told = [r.getMessage() for r in caplog.records if r.getMessage().startswith("not carried")]
    assert len(told) == 1 and "another gateway's" not in told[0], told
    theirs = Delivery(f"{OTHER}/procurement/request", b"{}", mid=2, qos=1, link=1)
    inbound.on_delivery(theirs)
    assert dropped == [f"{OTHER}/cmd/+", f"{OTHER}/procurement/status"]


async def test_a_message_on_the_gateways_own_topic_is_told_as_its_own_while_the_session_is_shared(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Its own procurement request, come back through a subscription another client left in
    the session, before the session has held: left unacknowledged, and logged as a topic of
    this gateway's that takes no command, not as another gateway's."""
    acked: list[Delivery] = []
    inbound = ward_inbound(acked, lambda: False)
    inbound.on_delivery(Delivery(f"{WARD}/procurement/request", b"{}", mid=1, qos=1, link=1))
    assert acked == []
    told = [r.getMessage() for r in caplog.records if r.getMessage().startswith("not carried")]
    assert len(told) == 1, told
    assert "a topic of this gateway's that takes no command" in told[0]
    assert "another gateway's" not in told[0]


async def test_a_broker_killed_and_up_again_at_once_three_times_raises_no_alarm(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """A crash and a restart within a moment (systemd's Restart=on-failure, RestartSec=100ms),
    each within seconds of the gateway's link back, though not within a second and a half, is
    no other client with its client id."""
    gateway, task = await start(settings(tmp_path, broker, "north-ward", "1"))
    try:
        session = gateway.session
        assert session is not None
        for _ in range(4):
            links = session.connects
            broker.kill()
            await broker.start()
            await eventually(lambda n=links: session.connects > n, what="the gateway's link back")
            await asyncio.sleep(RESTART_LINK_SECONDS)  # up a while, then killed again
        assert not taken_over(gateway), session.takeover.message()
        assert await broker_alarm(gateway) is None
    finally:
        await stop(gateway, task)
