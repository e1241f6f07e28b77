"""A tagged pack picked for a list still open and seen again in its slot is put back: booked
back as it was, and the list wants it again, with its light, also after a daemon restart and
when the pack came from a slot other than the lit one. After the list ended, or once its batch
was recalled, it is only back on the shelf."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drivers.modbus.lights import DARK, SlotLight
from drivers.modbus.profile import Colour, Mode
from edge.demo.local_broker import LocalBroker
from inventory.codes.identifiers import PackId
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from inventory.picking.lists import PickList
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.pick_rig import (
    IBU,
    OTHER_PACK,
    PREFIX,
    TAGGED,
    Rig,
    epcs_on_shelf,
    picked_epcs,
    results,
    start_rig,
    statuses,
    stock,
    stop_rig,
    tagged_pack,
    two_tagged_packs_put_away,
)

GREEN_1 = SlotLight(True, Colour.GREEN, Mode.STEADY, 1)


async def _taken_for(rig: Rig, centre: Subscriber, pick_id: str, lines: list[Any]) -> None:
    """Open pick list `pick_id` for `lines`, and take the tagged pack off A-08 for it."""
    _send_pick(centre, pick_id, lines)
    await eventually(lambda: "accepted" in statuses(centre, pick_id))
    rig.reader.remove(TAGGED)
    await eventually(
        lambda: picked_epcs(rig.db) == [tagged_pack(TAGGED).epc], what="taken: booked picked"
    )


def _send_pick(centre: Subscriber, pick_id: str, lines: list[Any]) -> None:
    body = {"pick_id": pick_id, "lines": lines}
    centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(body)))


def _tagged_pack_of_batch_p7(db: Path, *also: Movement) -> PackId:
    """The rig's stock, the tagged pack booked into A-08 with its batch (P7) and expiry, and
    `also`."""
    stock(db)
    pack = tagged_pack(TAGGED)
    keeper = InventoryKeeper(db, {}, "s1", "g1")
    put = Movement(
        MovementKind.PUT_AWAY,
        pack.gtin,
        serial=pack.serial,
        epc=pack.epc,
        batch="P7",
        expiry="2031-05-31",
        to_slot="A-08",
    )
    keeper.commit([put, *also])
    keeper.close()
    return pack


def _returned_to(db: Path) -> list[str]:
    """The lists the `return` movements booked packs back to ('' for none)."""
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT reference FROM movements WHERE kind = 'return' ORDER BY id")
        return [str(r[0]) for r in rows]


def _wanted(db: Path) -> dict[tuple[str, str], int]:
    """What the open lists in the ledger file still want: (pick id, slot) -> packs."""
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT body FROM pick_lists WHERE state = 'open'")
        lists = [PickList.from_json(r[0]) for r in rows]
    return {
        (pick.pick_id, a.slot): a.remaining
        for pick in lists
        for line in pick.lines
        for a in line.allocations
        if a.remaining
    }


async def test_a_tagged_pack_put_back_while_its_list_is_open_is_wanted_again(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    rig = await start_rig(tmp_path, broker)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        await two_tagged_packs_put_away(rig)
        pack = tagged_pack(TAGGED)
        _send_pick(centre, "rx-back", [{"gtin": pack.gtin, "quantity": 2}])
        two = SlotLight(True, Colour.GREEN, Mode.STEADY, 2)
        await eventually(lambda: rig.shows("A-08", two), what="A-08 lit for two")
        rig.reader.remove(TAGGED)
        await eventually(lambda: picked_epcs(rig.db) == [pack.epc], what="taken: booked picked")
        await eventually(lambda: rig.shows("A-08", GREEN_1))
        rig.reader.place(1, TAGGED)  # put back: the picker took it by mistake
        await eventually(lambda: rig.shows("A-08", two), what="both wanted again")
        progress = await eventually(
            lambda: [r for r in results(centre, "rx-back") if r["status"] == "progress"][1:],
            what="the put-back reported",
        )
        assert progress[0]["picked"] == 0 and progress[0]["confirmed_by"] == "put back"
        assert epcs_on_shelf(rig.db) == sorted([pack.epc, tagged_pack(OTHER_PACK).epc])
        rig.reader.remove(TAGGED)
        rig.reader.remove(OTHER_PACK)
        await eventually(lambda: "done" in statuses(centre, "rx-back"), what="done")
        assert epcs_on_shelf(rig.db) == []
    finally:
        await stop_rig(rig)


async def test_a_pack_put_back_after_a_daemon_restart_is_wanted_again_by_its_list(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    pack = _tagged_pack_of_batch_p7(tmp_path / "ledger.sqlite")
    rig = await start_rig(tmp_path, broker)
    try:
        rig.reader.place(1, TAGGED)
        centre = subscribe(f"{PREFIX}/cmd-result")
        lines = [{"gtin": pack.gtin, "quantity": 1}, {"gtin": IBU, "quantity": 1}]
        await _taken_for(rig, centre, "rx-rs", lines)  # open until its second line is picked
        await eventually(lambda: rig.shows("A-08", DARK), what="A-08 picked")
        await rig.stop_daemon()  # the shelf controller and the reader go on
        await rig.start_daemon()
        await eventually(
            lambda: [a.text for a in rig.activity].count("A is up") == 2, what="polled again"
        )
        rig.reader.place(1, TAGGED)  # put back: the patient does not need it after all
        await eventually(lambda: rig.shows("A-08", GREEN_1), what="wanted again after restart")
        put_back = await eventually(
            lambda: [r for r in results(centre, "rx-rs") if r.get("confirmed_by") == "put back"],
            what="the put-back reported",
        )
        assert (put_back[0]["line"], put_back[0]["picked"], put_back[0]["remaining"]) == (1, 0, 1)
        assert _returned_to(rig.db) == ["rx-rs"]
        await rig.press("A-06")  # the ibuprofen: the list is not done without its first line
        await eventually(lambda: rig.shows("A-06", DARK), what="the ibuprofen picked")
        assert "done" not in statuses(centre, "rx-rs")
        rig.reader.remove(TAGGED)
        await eventually(lambda: "done" in statuses(centre, "rx-rs"), what="done when taken")
        assert picked_epcs(rig.db) == [pack.epc, pack.epc]
    finally:
        await stop_rig(rig)


async def test_a_pack_taken_from_an_unlit_slot_and_put_back_is_wanted_where_it_lies(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    gtin = tagged_pack(TAGGED).gtin
    counted = Movement(  # the earlier expiry: the lists are lit at A-04, not at A-08
        MovementKind.PUT_AWAY, gtin, 2, batch="C1", expiry="2030-06-30", to_slot="A-04"
    )
    pack = _tagged_pack_of_batch_p7(tmp_path / "ledger.sqlite", counted)
    rig = await start_rig(tmp_path, broker)
    try:
        rig.reader.place(1, TAGGED)
        centre = subscribe(f"{PREFIX}/cmd-result")
        # The picker of rx-a takes the tagged pack from A-08: a right pack all the same.
        await _taken_for(rig, centre, "rx-a", [{"gtin": gtin, "quantity": 2}])
        await eventually(lambda: rig.shows("A-04", GREEN_1), what="one more wanted from A-04")
        _send_pick(centre, "rx-b", [{"gtin": gtin, "quantity": 1}])  # a second picker
        await eventually(lambda: _wanted(rig.db) == {("rx-a", "A-04"): 1, ("rx-b", "A-04"): 1})
        rig.reader.place(1, TAGGED)  # rx-a's picker puts it back where it came from
        await eventually(lambda: rig.shows("A-08", GREEN_1), what="wanted again where it lies")
        assert _wanted(rig.db) == {("rx-a", "A-04"): 1, ("rx-a", "A-08"): 1, ("rx-b", "A-04"): 1}
        put_back = await eventually(
            lambda: [r for r in results(centre, "rx-a") if r.get("confirmed_by") == "put back"],
            what="the put-back reported",
        )
        assert (put_back[0]["slot"], put_back[0]["picked"], put_back[0]["remaining"]) == (
            "A-08",
            0,
            2,
        )
        assert _returned_to(rig.db) == ["rx-a"] and epcs_on_shelf(rig.db) == [pack.epc]
    finally:
        await stop_rig(rig)


async def test_a_tagged_pack_put_back_after_its_list_ended_keeps_its_batch_and_expiry(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    pack = _tagged_pack_of_batch_p7(tmp_path / "ledger.sqlite")
    rig = await start_rig(tmp_path, broker)
    try:
        rig.reader.place(1, TAGGED)
        centre = subscribe(f"{PREFIX}/cmd-result")
        await _taken_for(rig, centre, "rx-x", [{"gtin": pack.gtin, "quantity": 1}])
        rig.reader.place(1, TAGGED)  # the patient did not need it after all: back on the shelf
        await eventually(lambda: epcs_on_shelf(rig.db) == [pack.epc], what="booked back")
        with sqlite3.connect(rig.db) as con:
            row = con.execute("SELECT batch, expiry FROM stock WHERE epc = ?", (pack.epc,))
            assert row.fetchone() == ("P7", "2031-05-31"), "its batch and expiry were lost"
    finally:
        await stop_rig(rig)


async def test_a_pack_put_back_after_its_batch_was_recalled_is_not_wanted_again(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    pack = _tagged_pack_of_batch_p7(tmp_path / "ledger.sqlite")
    rig = await start_rig(tmp_path, broker)
    try:
        rig.reader.place(1, TAGGED)
        centre = subscribe(f"{PREFIX}/cmd-result")
        lines = [{"gtin": pack.gtin, "quantity": 1}, {"gtin": IBU, "quantity": 1}]
        await _taken_for(rig, centre, "rx-r", lines)  # open until its second line is picked
        recall = {"gtin": pack.gtin, "batch": "P7", "note": "supplier notice"}
        centre.publish(f"{PREFIX}/cmd/recall", json.dumps(with_envelope(recall)))
        await eventually(lambda: "recalled" in statuses(centre, f"{pack.gtin}/P7"))
        rig.reader.place(1, TAGGED)  # put back: a recalled pack the list must not want again
        await eventually(lambda: epcs_on_shelf(rig.db) == [pack.epc], what="booked back")
        with sqlite3.connect(rig.db) as con:
            row = con.execute("SELECT status FROM stock WHERE epc = ?", (pack.epc,)).fetchone()
        assert _returned_to(rig.db) != ["rx-r"], "booked back to the list: its batch wanted again"
        assert row == ("quarantined",), "a pack of a recalled batch back on the shelf as available"
    finally:
        await stop_rig(rig)
