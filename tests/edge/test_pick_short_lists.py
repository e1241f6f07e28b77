"""Pick lists short of one drug one after another, seen from the centre (the daemon, a real
mosquitto, an independent subscriber): a list that ended short is still owed its packs, so the
next list's missing packs are asked for too, and the retained shortage alarm says what all of
them are owed, the latest list by `pick_id`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from edge.demo.local_broker import LocalBroker
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually, retained_at
from tests.edge.pick_rig import AMOX, PREFIX, start_rig, statuses, stop_rig

ALARM = f"{PREFIX}/alarms/shortage-{AMOX}"


async def test_a_list_that_ended_short_does_not_swallow_the_next_lists_packs(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    rig = await start_rig(tmp_path, broker)  # 4 usable packs: 3 in A-01, 1 in A-02
    try:
        centre = subscribe(f"{PREFIX}/cmd-result", f"{PREFIX}/procurement/request")

        def send(pick_id: str, quantity: int) -> None:
            body = {"pick_id": pick_id, "lines": [{"gtin": AMOX, "quantity": quantity}]}
            centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(body)))

        def asked() -> list[tuple[str, int, str]]:
            requests = centre.payloads("/procurement/request")
            return [(r["gtin"], r["quantity"], r["priority"]) for r in requests]

        # rx-1 takes all 4 packs; rx-2 asks 5: none can be set aside, so it ends at once,
        # short by 5, and they are asked for.
        send("rx-1", 4)
        await eventually(lambda: "accepted" in statuses(centre, "rx-1"), what="rx-1 accepted")
        send("rx-2", 5)
        await eventually(lambda: "done" in statuses(centre, "rx-2"), what="rx-2 ended")
        await eventually(lambda: asked(), what="a request for rx-2's packs")
        assert asked() == [(AMOX, 5, "urgent")], asked()

        # rx-3 asks 5 after rx-2 ended: the 5 on order are owed to rx-2's patients.
        send("rx-3", 5)
        await eventually(lambda: len(asked()) >= 2, what="a request for rx-3's packs")
        assert asked() == [(AMOX, 5, "urgent"), (AMOX, 5, "urgent")], asked()

        def shortage() -> dict[str, object] | None:
            held = retained_at(broker.port, ALARM).get(ALARM)
            detail = json.loads(held)["detail"] if held else {}
            return detail if detail.get("pick_id") == "rx-3" else None

        detail = await eventually(shortage, what="the retained alarm told of rx-3")
        assert detail["short_by"] == 10, detail
        assert detail["on_hand"] == 4 and "pick_ids" not in detail
        assert len(detail["urgent_requests"]) == 2
    finally:
        await stop_rig(rig)
