"""The shortage alarm the centre holds says what is on hand now, over real transports (a pty
reader, a Modbus TCP shelf controller, mosquitto): packs picked after it was raised, or put
back, are republished on the retained alarm, which keeps its raise time and acknowledgement."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from edge.daemon import ledger_questions as ask
from edge.demo.local_broker import LocalBroker
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually, retained_at, subscribed
from tests.edge.test_whole_loop import (  # noqa: F401  (shelf: a fixture)
    GTIN,
    PACKS,
    Shelf,
    _empty,
    _on_hand_is,
    movements,
    shelf,
    start_gateway,
    stop_gateway,
)

PREFIX = "rxedge/v1/site-1/gw-1"
TOPIC = f"{PREFIX}/alarms/shortage-{GTIN}"


def held(broker: LocalBroker) -> dict[str, Any] | None:
    """The shortage alarm as the broker keeps it for the centre (None: nothing kept)."""
    payload = retained_at(broker.port, TOPIC).get(TOPIC)
    return json.loads(payload) if payload else None


def saying(broker: LocalBroker, on_hand: int) -> Callable[[], dict[str, Any] | None]:
    def kept() -> dict[str, Any] | None:
        alarm = held(broker)
        return alarm if alarm and alarm["detail"]["on_hand"] == on_hand else None

    return kept


async def test_the_retained_shortage_alarm_follows_the_stock_and_keeps_its_acknowledgement(
    shelf: Shelf,  # noqa: F811
    broker: LocalBroker,
    subscribe: Callable[..., Subscriber],
) -> None:
    centre = subscribe(f"{PREFIX}/alarms/#")
    gateway, task = await start_gateway(shelf)
    try:
        await subscribed(gateway)
        await eventually(lambda: len(movements(shelf.db)) == 6, what="packs put away")
        for epc in PACKS[:3]:  # 5 -> 2: at the reorder point
            shelf.reader.remove(epc)
        raised = await eventually(saying(broker, 2), what="the shortage alarm, 2 on hand")
        assert raised["state"] == "raised"

        ack = {"alarm_id": f"shortage-{GTIN}", "by": "Ana Ruiz"}
        centre.publish(f"{PREFIX}/cmd/alarm-ack", json.dumps(with_envelope(ack)))
        await eventually(
            lambda: (held(broker) or {}).get("state") == "acknowledged", what="acknowledged"
        )

        shelf.reader.remove(PACKS[3])  # picked after the alarm was raised: 1 left
        await eventually(lambda: _on_hand_is(gateway, 1), what="the ledger at 1")
        now = await eventually(saying(broker, 1), what="the alarm saying 1 on hand")
        assert now["state"] == "acknowledged" and now["acknowledged_by"] == "Ana Ruiz"
        assert now["raised_at"] == raised["raised_at"]
        assert now["detail"] == {**raised["detail"], "on_hand": 1}

        shelf.reader.place(1, PACKS[3])  # put back: 2, still at the reorder point
        back = await eventually(saying(broker, 2), what="the alarm saying 2 on hand again")
        assert back["state"] == "acknowledged" and back["raised_at"] == raised["raised_at"]

        def sent() -> list[tuple[str, int]]:
            found = [json.loads(m.payload) for m in centre.drain() if m.topic == TOPIC]
            return [(m["state"], m["detail"]["on_hand"]) for m in found]

        await eventually(lambda: len(sent()) >= 4, what="every state at the centre")
        await eventually(lambda: _empty(gateway.ledger.ask(ask.all_pending)), what="all sent")
        assert sent() == [
            ("raised", 2),
            ("acknowledged", 2),
            ("acknowledged", 1),
            ("acknowledged", 2),
        ], "published once at each change of the stock"
        assert not centre.violations
    finally:
        await stop_gateway(gateway, task)
