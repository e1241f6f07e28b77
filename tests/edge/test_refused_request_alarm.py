"""The running daemon, a real broker: a pick list short of a product makes an urgent request,
the pharmacist acknowledges the shortage alarm, and the clerk rejects the request. The retained
alarm, as anyone subscribing reads it, then names the refusal and the proposal that waits (no
longer the refused request as urgent), still acknowledged; once the pharmacist confirms the
proposal, it names the request that proposal became."""

from __future__ import annotations

import asyncio
import json
import queue
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from edge.demo.local_broker import LocalBroker
from inventory.alarms.lifecycle import AlarmKind, alarm_id
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.procurement_rig import (
    PREFIX,
    config,
    products,
    proposals,
    requests,
    start_gateway,
    stock,
    stop_gateway,
)


def retained(port: int, topic: str) -> dict[str, Any] | None:
    """The retained message on `topic` as a client subscribing now gets it (None: none)."""
    reader = Subscriber(port, [topic], client_id="retained-reader")
    try:
        message = reader.messages.get(timeout=2)
    except queue.Empty:
        return None
    finally:
        reader.close()
    return json.loads(message.payload) if message.payload else None


async def test_the_retained_shortage_alarm_tells_of_a_rejected_request_and_its_proposal(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    wanted = products(auto=1)
    gtin = wanted[0]["gtin"]
    db = tmp_path / "ledger.sqlite"
    stock(db, wanted)
    topic = f"{PREFIX}/alarms/{alarm_id(AlarmKind.SHORTAGE, gtin)}"
    centre = subscribe(f"{PREFIX}/cmd-result")
    gateway, task = await start_gateway(config(db, broker.url, wanted))

    def alarm_where(
        check: Callable[[dict[str, Any]], bool],
    ) -> Callable[[], Awaitable[dict[str, Any] | None]]:
        async def read() -> dict[str, Any] | None:
            found = await asyncio.to_thread(retained, broker.port, topic)
            return found if found is not None and check(found) else None

        return read

    def command(name: str, body: dict[str, Any]) -> None:
        centre.publish(f"{PREFIX}/cmd/{name}", json.dumps(with_envelope(body)))

    try:
        command("pick", {"pick_id": "rx-1", "lines": [{"gtin": gtin, "quantity": 5}]})
        (x,) = await eventually(lambda: list(requests(db)), what="the urgent request")
        raised = await eventually(
            alarm_where(lambda a: a["detail"].get("urgent_requests") == [x]),
            what="the alarm naming the urgent request",
        )
        command("alarm-ack", {"alarm_id": raised["alarm_id"], "by": "Ana Ruiz"})
        await eventually(
            alarm_where(lambda a: a["state"] == "acknowledged"),
            what="the alarm acknowledged",
        )
        body = {"request_id": x, "status": "rejected", "note": "discontinued"}
        centre.publish(f"{PREFIX}/procurement/status", json.dumps(body))
        (y,) = await eventually(lambda: proposals(db), what="the proposal")
        refused = await eventually(
            alarm_where(lambda a: "refused_request" in a["detail"]),
            what="the alarm telling of the refusal",
        )
        assert (refused["state"], refused["acknowledged_by"]) == ("acknowledged", "Ana Ruiz")
        assert "urgent_requests" not in refused["detail"], "the rejected request is not open"
        assert (
            refused["detail"]["refused_request"],
            refused["detail"]["refused_status"],
            refused["detail"]["proposal_id"],
        ) == (x, "rejected", y)
        command("procurement-confirm", {"request_id": y, "by": "Dr. Ruiz"})
        confirmed = await eventually(
            alarm_where(lambda a: "requested_again" in a["detail"]),
            what="the alarm naming the confirmed request",
        )
        assert confirmed["detail"]["urgent_requests"] == [y]
        assert (confirmed["detail"]["requested_again"], confirmed["detail"]["refused_request"]) == (
            y,
            x,
        )
        assert "proposal_id" not in confirmed["detail"]
        assert confirmed["state"] == "acknowledged"
    finally:
        await stop_gateway(gateway, task)
