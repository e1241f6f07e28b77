"""What a confirmed count books, and what its alarm says: a pack found that the ledger knew
keeps its batch and expiry, and is held if recalled or expired; a pack booked by its code is
that pack, its tag read; a pack the ledger moved since the count is left alone; a newer count's
alarm is the one that stands."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from inventory.alarms.lifecycle import AlarmKind, AlarmState, alarm_id
from inventory.codes.barcodes import GS, parse_pack_barcode
from inventory.codes.identifiers import EpcDecoder, PackId
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind, StockStatus
from inventory.ledger.verify import verify
from inventory.stocktake.sweep import Sweep
from tests.inventory.test_stocktake import GTIN, SLOTS, keeper_at, loc, pack, sweep_of


def test_a_pack_put_back_unseen_keeps_its_batch_and_expiry_when_the_count_books_it(
    tmp_path: Path,
) -> None:
    keeper = keeper_at(tmp_path / "l.sqlite")
    p = pack(1)
    keeper.commit(
        [
            Movement(
                MovementKind.RECEIVE, GTIN, 1, p.serial, p.epc, "B7", "2027-06-30", to_slot="A-01"
            )
        ]
    )
    keeper.take(p.epc, "Ana", "picked for rx 123")  # then put back while no reader saw it
    keeper.stocktakes.finish(sweep_of({1: "A-01"}))
    keeper.stocktakes.confirm("st-1", "Bea")
    line = keeper.line_of_epc(p.epc)
    assert line is not None
    assert (line.slot, line.batch, line.expiry) == ("A-01", "B7", "2027-06-30")


def test_a_newer_count_raises_the_discrepancy_alarm_afresh_with_its_own_slots(
    tmp_path: Path,
) -> None:
    keeper = keeper_at(tmp_path / "l.sqlite")
    keeper.put_away(pack(1), "A-01")
    keeper.put_away(pack(3), "A-03")
    keeper.stocktakes.finish(sweep_of({3: "A-03"}))  # st-1: pack 1 missing in A-01
    keeper.alarms.acknowledge(alarm_id(AlarmKind.DISCREPANCY, "A"), "Ana")
    newer = Sweep("st-2", "A", SLOTS, "Ana")
    for slot in SLOTS:
        newer.location(slot, loc(slot), rssi=-40)
        if slot == "A-01":
            newer.pack(pack(1), rssi=-50)
        newer.round_done()
    keeper.stocktakes.finish(newer)  # st-2: pack 1 found, pack 3 missing in A-03
    (alarm,) = [a for a in keeper.alarms.live() if a.kind is AlarmKind.DISCREPANCY]
    assert alarm.detail["stocktake_id"] == "st-2" and alarm.detail["slots"] == ["A-03"]
    assert alarm.state is AlarmState.RAISED, "a new count's differences are not acknowledged"


def receive_by_code(keeper: InventoryKeeper, n: int, slot: str) -> None:
    """Pack `n` booked by its code (a scan, a button press): its GTIN and serial, no tag."""
    p = pack(n)
    movement = Movement(MovementKind.RECEIVE, GTIN, 1, p.serial, None, "B1", "2028-01-31")
    keeper.commit([replace(movement, to_slot=slot)])


def test_a_pack_booked_by_its_code_is_counted_once_and_its_line_takes_the_tag(
    tmp_path: Path,
) -> None:
    keeper = keeper_at(tmp_path / "l.sqlite")
    receive_by_code(keeper, 7, "A-01")
    for n in (1, 2, 3):  # every sweep and confirmation since: one pack, never two
        sid = f"st-{n}"
        sweep = sweep_of({7: "A-01"})
        sweep.stocktake_id = sid
        out = keeper.stocktakes.finish(sweep)
        assert "1 seen of 1 expected; missing 0, unexpected 0, misplaced 0" in out.notes[0]
        keeper.stocktakes.confirm(sid, "Bea")
        assert keeper.on_hand(GTIN) == 1
    keeper.close()
    keeper = keeper_at(tmp_path / "l.sqlite")  # the tag is the ledger's, not the index's only
    line = keeper.line_of_epc(pack(7).epc)
    assert line is not None and (line.slot, line.batch, line.quantity) == ("A-01", "B1", 1)
    assert verify(keeper.db).ok


def test_a_pack_booked_by_its_code_found_in_another_slot_moves_there_with_its_tag(
    tmp_path: Path,
) -> None:
    keeper = keeper_at(tmp_path / "l.sqlite")
    receive_by_code(keeper, 7, "A-01")
    out = keeper.stocktakes.finish(sweep_of({7: "A-03"}))
    assert "missing 0, unexpected 0, misplaced 1" in out.notes[0]
    keeper.stocktakes.confirm("st-1", "Bea")
    line = keeper.line_of_epc(pack(7).epc)
    assert line is not None and (line.slot, line.serial, line.batch) == ("A-03", "7", "B1")
    assert keeper.on_hand(GTIN) == 1


def test_a_pack_booked_by_a_code_whose_serial_holds_a_dot_is_its_tag_read(tmp_path: Path) -> None:
    keeper = keeper_at(tmp_path / "l.sqlite")
    scan = parse_pack_barcode(f"]d201{GTIN}17280131" + f"10B1{GS}2112.34")
    movement = Movement(MovementKind.RECEIVE, GTIN, 1, scan.serial, None, "B1", "2028-01-31")
    keeper.commit([replace(movement, to_slot="A-01")])
    # Its SGTIN-198 tag, urn:epc:id:sgtin:4012345.012345.12.34.
    tag = EpcDecoder().decode(bytes.fromhex("3634F4E4E40C0E58B25CCDA" + "0" * 29))
    assert isinstance(tag, PackId)
    sweep = Sweep("st-1", "A", SLOTS, "Ana")
    for slot in SLOTS:
        sweep.location(slot, loc(slot), rssi=-40)
        if slot == "A-01":
            sweep.pack(tag, rssi=-50)
        sweep.round_done()
    out = keeper.stocktakes.finish(sweep)
    assert "1 seen of 1 expected; missing 0, unexpected 0, misplaced 0" in out.notes[0]
    keeper.stocktakes.confirm("st-1", "Bea")
    line = keeper.line_of_epc(tag.epc)
    assert line is not None and (line.slot, line.serial) == ("A-01", "12.34")
    assert keeper.on_hand(GTIN) == 1


def test_a_pack_of_a_recalled_batch_or_expired_found_by_the_count_is_held_where_found(
    tmp_path: Path,
) -> None:
    keeper = keeper_at(tmp_path / "l.sqlite")
    for n, batch, expiry in ((8, "R9", "2028-01-31"), (9, "B2", "2026-10-31")):
        p = pack(n)
        booked = Movement(MovementKind.RECEIVE, GTIN, 1, p.serial, p.epc, batch, expiry)
        keeper.commit([replace(booked, to_slot="A-02")])
        keeper.take(p.epc, "Ana", "picked for rx 1")  # then put back while no reader saw it
    keeper.picks.recall(GTIN, "R9", "supplier recall")
    keeper.stocktakes.finish(sweep_of({8: "A-02", 9: "A-02"}))
    confirmed = keeper.stocktakes.confirm("st-1", "Bea")
    for n in (8, 9):
        line = keeper.line_of_epc(pack(n).epc)
        assert line is not None and (line.slot, line.status) == ("A-02", StockStatus.QUARANTINED)
    assert keeper.on_hand(GTIN) == 0, "a recalled or expired pack counted as on hand"
    assert any("/8 in A-02: held there (recall: back on the shelf)" in n for n in confirmed.notes)
    assert any("/9 in A-02: held there (expired)" in note for note in confirmed.notes)
    expired = keeper.alarms.get(AlarmKind.EXPIRED, f"{GTIN}/B2")
    assert expired is not None and expired.detail["slots"] == ["A-02"]


def test_a_missing_pack_picked_and_put_back_before_the_confirmation_is_left_alone(
    tmp_path: Path,
) -> None:
    keeper = keeper_at(tmp_path / "l.sqlite")
    keeper.put_away(pack(1), "A-01")
    keeper.put_away(pack(2), "A-01")
    out = keeper.stocktakes.finish(sweep_of({2: "A-01"}))  # pack 1 missed
    assert "missing 1" in out.notes[0]
    keeper.take(pack(1).epc, "Cid", "picked for rx 9")
    keeper.put_away(pack(1), "A-01", reason="seen on shelf")  # brought back: where it was
    confirmed = keeper.stocktakes.confirm("st-1", "Bea")
    assert confirmed.booked_epcs == [] and keeper.index.slot_of(pack(1).epc) == "A-01"
