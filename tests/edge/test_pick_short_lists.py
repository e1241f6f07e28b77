"""Two pick lists short of one drug, seen from the centre (the daemon, a real mosquitto, an
independent subscriber): each missing pack is asked for, and the retained shortage alarm says
what all the open lists are short of, the latest list by `pick_id` and every one by
`pick_ids`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from edge.demo.local_broker import LocalBroker
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually, retained_at
from tests.edge.pick_rig import AMOX, PREFIX, start_rig, statuses, stop_rig

ALARM = f"{PREFIX}/alarms/shortage-{AMOX}"


async def test_the_second_list_short_of_a_drug_is_ordered_and_the_alarm_keeps_the_first(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    rig = await start_rig(tmp_path, broker)  # 4 usable packs: 3 in A-01, 1 in A-02
    try:
        centre = subscribe(f"{PREFIX}/cmd-result", f"{PREFIX}/procurement/request")
        for pick_id, quantity in (("rx-1", 3), ("rx-2", 5), ("rx-3", 1)):
            body = {"pick_id": pick_id, "lines": [{"gtin": AMOX, "quantity": quantity}]}
            centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(body)))
            await eventually(
                lambda p=pick_id: "accepted" in statuses(centre, p), what=f"{pick_id} accepted"
            )

        # rx-2 is short by 4 (one pack set aside for it), rx-3 by its one pack.
        def asked() -> list[tuple[str, int, str]]:
            requests = centre.payloads("/procurement/request")
            return [(r["gtin"], r["quantity"], r["priority"]) for r in requests]

        await eventually(lambda: len(asked()) >= 2, what="a request for each list's shortfall")
        assert asked() == [(AMOX, 4, "urgent"), (AMOX, 1, "urgent")], asked()

        def shortage() -> dict[str, object] | None:
            held = retained_at(broker.port, ALARM).get(ALARM)
            detail = json.loads(held)["detail"] if held else {}
            return detail if detail.get("pick_id") == "rx-3" else None

        detail = await eventually(shortage, what="the retained alarm told of rx-3")
        assert (detail["short_by"], detail["pick_ids"]) == (5, ["rx-2", "rx-3"]), detail
        assert detail["on_hand"] == 4
    finally:
        await stop_rig(rig)
