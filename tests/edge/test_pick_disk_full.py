"""A serialized pack scanned for a pick list while the ledger's disk is full (a real size-capped
tmpfs, as in tests/edge/test_disk_full.py): the scan is held, and once space returns it is
booked, once, though it is tried again within `mistake_seconds` of the attempt that failed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from edge.demo.local_broker import LocalBroker
from firmware_sim.scanner_sim import GS
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually, subscribed
from tests.edge.pick_rig import AMOX, PREFIX, start_rig, statuses, stock, stop_rig
from tests.edge.test_disk_full import fill, small_disk  # noqa: F401  (a fixture)


async def test_a_serialized_pack_scanned_while_the_disk_is_full_is_booked_once_it_has_room(
    small_disk: Path,  # noqa: F811
    broker: LocalBroker,
    subscribe: Callable[..., Subscriber],
) -> None:
    db = small_disk / "ledger.sqlite"
    stock(db)
    keeper = InventoryKeeper(db, {}, "s1", "g1")
    serialized = Movement(
        MovementKind.PUT_AWAY, AMOX, batch="S7", expiry="2031-01-31", serial="SN1", to_slot="A-07"
    )
    keeper.commit([serialized])
    keeper.close()
    rig = await start_rig(small_disk, broker)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        assert rig.gateway is not None
        await subscribed(rig.gateway)
        pick = {"pick_id": "rx-1", "lines": [{"gtin": AMOX, "quantity": 1}], "picker": "Ana"}
        centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(pick)))
        await eventually(lambda: statuses(centre, "rx-1") == ["accepted"], what="accepted")
        filler = fill(small_disk)
        rig.scanner.scan(f"01{AMOX}17310131" + "10S7" + GS + "21SN1")
        await eventually(
            lambda: rig.gateway and rig.gateway.counters["storage_failures"],
            what="the scan held",
        )
        filler.unlink()
        await eventually(lambda: rig.picks(), timeout=20, what="the scan booked")
        assert rig.picks() == [("A-07", "S7", "rx-1")]
        await eventually(lambda: "done" in statuses(centre, "rx-1"), what="the list done")
    finally:
        await stop_rig(rig)
