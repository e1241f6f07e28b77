"""A press on a slot of tagged packs that a fixed reader watches books the pack the picker
took: the one the reader stopped seeing, not the first of the slot by serial."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drivers.modbus.lights import DARK, SlotLight
from drivers.modbus.profile import Colour, Mode
from edge.demo.local_broker import LocalBroker
from firmware_sim.tags import sgtin96
from inventory.codes.identifiers import EpcDecoder, PackId
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.pick_rig import (
    AMOX,
    IBU,
    PREFIX,
    RED,
    TAGGED,
    Rig,
    results,
    start_rig,
    stock,
    stop_rig,
)

OTHER = sgtin96("4012345", "000002", 10)  # the same product, its serial first by sorting


def _urn(hex_epc: str) -> str:
    pack = EpcDecoder().decode(hex_epc)
    assert isinstance(pack, PackId)
    return pack.epc


async def test_a_press_books_the_tagged_pack_the_reader_no_longer_sees(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    rig = await start_rig(tmp_path, broker)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        rig.reader.place(1, TAGGED)
        rig.reader.place(1, OTHER)
        await eventually(lambda: len(_on_shelf(rig.db)) == 2, what="both packs put away")
        pack = EpcDecoder().decode(TAGGED)
        assert isinstance(pack, PackId)
        for body in (
            {"pick_id": "rx-p", "lines": [{"gtin": pack.gtin, "quantity": 1}]},
            {"pick_id": "rx-o", "lines": [{"gtin": AMOX, "quantity": 1}]},  # another picker
        ):
            centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(body)))
        green = SlotLight(True, Colour.GREEN, Mode.STEADY, 1)
        await eventually(lambda: rig.shows("A-08", green), what="A-08 lit for rx-p")
        assert rig.gateway is not None
        counters = rig.gateway.counters
        rig.reader.remove(TAGGED)  # the picker takes serial 9 and presses the button
        rounds = counters["rounds"]
        await eventually(lambda: counters["rounds"] >= rounds + 3, what="rounds without it")
        await rig.press("A-08")
        await eventually(lambda: "done" in _statuses(centre, "rx-p"), what="rx-p done")
        await eventually(lambda: rig.shows("A-08", DARK))
        assert _picked(rig.db) == [_urn(TAGGED)], "the press booked a pack still on the shelf"
        assert _on_shelf(rig.db) == [_urn(OTHER)]
        assert await rig.light("A-08") != RED
        assert not [r for r in results(centre, "rx-o") if r["status"] == "mistake"]
    finally:
        await stop_rig(rig)


async def _taken_for(rig: Rig, centre: Subscriber, pick_id: str, lines: list[Any]) -> None:
    """Open pick list `pick_id` for `lines`, and take the tagged pack off A-08 for it."""
    body = {"pick_id": pick_id, "lines": lines}
    centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(body)))
    await eventually(lambda: "accepted" in _statuses(centre, pick_id))
    rig.reader.remove(TAGGED)
    await eventually(lambda: _picked(rig.db) == [_urn(TAGGED)], what="taken: booked picked")


def _tagged_pack_of_batch_p7(db: Path) -> PackId:
    """The rig's stock, and the tagged pack booked into A-08 with its batch (P7) and expiry."""
    stock(db)
    pack = EpcDecoder().decode(TAGGED)
    assert isinstance(pack, PackId)
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
    keeper.commit([put])
    keeper.close()
    return pack


def _statuses(centre: Subscriber, pick_id: str) -> list[object]:
    return [r["status"] for r in results(centre, pick_id)]


def _picked(db: Path) -> list[str]:
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT epc FROM movements WHERE kind = 'pick' ORDER BY id")
        return [str(r[0]) for r in rows]


def _on_shelf(db: Path) -> list[str]:
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT epc FROM stock WHERE epc IS NOT NULL AND quantity > 0")
        return sorted(str(r[0]) for r in rows)


async def test_a_tagged_pack_put_back_while_its_list_is_open_is_wanted_again(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    rig = await start_rig(tmp_path, broker)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        rig.reader.place(1, TAGGED)
        rig.reader.place(1, OTHER)
        await eventually(lambda: len(_on_shelf(rig.db)) == 2, what="both packs put away")
        pack = EpcDecoder().decode(TAGGED)
        assert isinstance(pack, PackId)
        body = {"pick_id": "rx-back", "lines": [{"gtin": pack.gtin, "quantity": 2}]}
        centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(body)))
        two = SlotLight(True, Colour.GREEN, Mode.STEADY, 2)
        await eventually(lambda: rig.shows("A-08", two), what="A-08 lit for two")
        rig.reader.remove(TAGGED)
        await eventually(lambda: _picked(rig.db) == [pack.epc], what="taken: booked picked")
        await eventually(lambda: rig.shows("A-08", SlotLight(True, Colour.GREEN, Mode.STEADY, 1)))
        rig.reader.place(1, TAGGED)  # put back: the picker took it by mistake
        await eventually(lambda: rig.shows("A-08", two), what="both wanted again")
        progress = await eventually(
            lambda: [r for r in results(centre, "rx-back") if r["status"] == "progress"][1:],
            what="the put-back reported",
        )
        assert progress[0]["picked"] == 0 and progress[0]["confirmed_by"] == "put back"
        assert _on_shelf(rig.db) == sorted([pack.epc, _urn(OTHER)])
        rig.reader.remove(TAGGED)
        rig.reader.remove(OTHER)
        await eventually(lambda: "done" in _statuses(centre, "rx-back"), what="done")
        assert _on_shelf(rig.db) == []
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
        await eventually(lambda: _on_shelf(rig.db) == [pack.epc], what="booked back")
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
        await eventually(lambda: "recalled" in _statuses(centre, f"{pack.gtin}/P7"))
        rig.reader.place(1, TAGGED)  # put back: a recalled pack the list must not want again
        await eventually(lambda: _on_shelf(rig.db) == [pack.epc], what="booked back")
        with sqlite3.connect(rig.db) as con:
            [(reference,)] = con.execute("SELECT reference FROM movements WHERE kind = 'return'")
            row = con.execute("SELECT status FROM stock WHERE epc = ?", (pack.epc,)).fetchone()
        assert reference != "rx-r", "booked back to the list: its recalled batch wanted again"
        assert row == ("quarantined",), "a pack of a recalled batch back on the shelf as available"
    finally:
        await stop_rig(rig)
