"""Pick lists short of one drug, seen from the centre (the daemon, a real mosquitto, an
independent subscriber): what every list found short is owed, ended or not and over a restart,
is ordered, and the retained shortage alarm says it in all (`short_by`), by list
(`short_by_pick`, `pick_ids`) and the list found short last (`pick_id`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from edge.demo.local_broker import LocalBroker
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually, retained_at
from tests.edge.pick_rig import AMOX, PREFIX, start_rig, statuses, stop_rig

ALARM = f"{PREFIX}/alarms/shortage-{AMOX}"


async def test_every_pack_owed_to_lists_ended_short_is_ordered_over_a_restart(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    rig = await start_rig(tmp_path, broker)  # 4 usable packs: 3 in A-01, 1 in A-02
    try:
        centre = subscribe(f"{PREFIX}/cmd-result", f"{PREFIX}/procurement/request")

        async def pick(pick_id: str, quantity: int) -> None:
            body = {"pick_id": pick_id, "lines": [{"gtin": AMOX, "quantity": quantity}]}
            centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(body)))
            await eventually(lambda: "accepted" in statuses(centre, pick_id), what=pick_id)

        def asked() -> list[tuple[str, int, str]]:
            """Each request once (delivery is at least once), in the order first received."""
            requests = {r["request_id"]: r for r in centre.payloads("/procurement/request")}
            return [(r["gtin"], r["quantity"], r["priority"]) for r in requests.values()]

        await pick("rx-1", 4)  # takes every pack
        await pick("rx-2", 5)  # nothing set aside: short by 5 and done at once
        await eventually(lambda: "done" in statuses(centre, "rx-2"), what="rx-2 done")
        await eventually(lambda: len(asked()) == 1, what="rx-2's packs asked for")
        await rig.stop_daemon()
        await rig.start_daemon()
        await pick("rx-3", 5)  # short by 5 too: the 5 on order are rx-2's
        await eventually(lambda: len(asked()) == 2, what="rx-3's packs asked for")
        assert asked() == [(AMOX, 5, "urgent"), (AMOX, 5, "urgent")], asked()

        def shortage() -> dict[str, object] | None:
            held = retained_at(broker.port, ALARM).get(ALARM)
            detail = json.loads(held)["detail"] if held else {}
            return detail if detail.get("pick_id") == "rx-3" else None

        detail = await eventually(shortage, what="the retained alarm told of rx-3")
        owed = {k: detail[k] for k in ("short_by", "pick_ids", "short_by_pick", "on_hand")}
        assert owed == {
            "short_by": 10,
            "pick_ids": ["rx-2", "rx-3"],
            "short_by_pick": {"rx-2": 5, "rx-3": 5},
            "on_hand": 4,
        }
    finally:
        await stop_rig(rig)
