"""An answer on `procurement/status` that breaks the contract is refused on `cmd-result` under
the request it names, so the centre's system that sent it can tell which request it was about."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from edge.demo.local_broker import LocalBroker
from tests.conftest import Subscriber, eventually
from tests.edge.procurement_rig import (
    PREFIX,
    one_request,
    requests,
    stop_gateway,
)


async def test_a_status_the_contract_does_not_know_is_refused_under_its_request(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    centre = subscribe(f"{PREFIX}/cmd-result")
    db, _, gateway, task, rid = await one_request(broker.url, tmp_path)
    try:
        body = {"request_id": rid, "status": "delivered", "note": "left at the back door"}
        centre.publish(f"{PREFIX}/procurement/status", json.dumps(body))
        (refusal,) = await eventually(lambda: centre.payloads("/cmd-result"), what="the refusal")
    finally:
        await stop_gateway(gateway, task)
    assert (refusal["command"], refusal["command_id"], refusal["status"]) == (
        "procurement-status",
        rid,
        "error",
    )
    assert "delivered" in refusal["error"] and requests(db)[rid] == "requested"
