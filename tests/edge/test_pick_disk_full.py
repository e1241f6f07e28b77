"""Picking while the ledger's disk is full (a real size-capped tmpfs, as in
tests/edge/test_disk_full.py): a serialized pack scanned is held, and once space returns it is
booked, once, though it is tried again within `mistake_seconds` of the attempt that failed;
presses held on a slot two lists want count down the owner shown, then show the next."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from drivers.modbus.lights import DARK
from edge.demo.local_broker import LocalBroker
from firmware_sim.scanner_sim import GS
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually, subscribed
from tests.edge.pick_rig import AMOX, PREFIX, start_rig, statuses, stock, stop_rig
from tests.edge.test_disk_full import fill, small_disk  # noqa: F401  (a fixture)
from tests.edge.test_shared_slots import BLUE_1, two_lists_on_a01


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


async def test_a_shared_slot_whose_owner_held_presses_finish_shows_the_next_and_books_its_press(
    small_disk: Path,  # noqa: F811
    broker: LocalBroker,
    subscribe: Callable[..., Subscriber],
) -> None:
    """rx-a (older, green) wants two of A-01's packs, rx-b (blue) the last: with the disk
    full, rx-a's two presses leave A-01 to rx-b, not dark, and rx-b's press is hers."""
    stock(small_disk / "ledger.sqlite")
    rig = await start_rig(small_disk, broker)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        await two_lists_on_a01(rig, centre)
        filler = fill(small_disk)
        await rig.press("A-01", times=2)
        await eventually(lambda: rig.shows("A-01", BLUE_1), what="rx-b's turn, not dark")
        await rig.handed_over("A-01", 1)
        await rig.press("A-01")  # rx-b's picker
        await eventually(lambda: rig.shows("A-01", DARK), what="her press answered")
        assert rig.picks() == [], "the disk is full: nothing written yet"
        filler.unlink()
        await eventually(lambda: "done" in statuses(centre, "rx-b"), timeout=20, what="booked")
        assert rig.picks() == [("A-01", "LATE", "rx-a")] * 2 + [("A-01", "LATE", "rx-b")]
    finally:
        await stop_rig(rig)
