"""A delivered pack whose code lacks its expiry or batch, judged by the put-away checks: refused
`no expiry` or `no batch` for a product whose codes carry both (a medicine's), never booked
undated at a receiving or put-away desk; taken as it stands for a product whose codes may lack
them (a device's). The same pack, its DataMatrix scanned next and put, is no refused pack."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from inventory.alarms.lifecycle import AlarmKind
from inventory.codes.barcodes import PackScan
from inventory.keeper import InventoryKeeper
from inventory.picking.outcome import Cue, CueKind
from inventory.putaway.checks import Reason, refusal
from inventory.putaway.sessions import Notice, NoticeLine
from inventory.stock.slot_index import SlotIndex
from sync.contract import validate
from tests.inventory.test_putaway import AMOX, TODAY, Clock, answers, open_keeper, scan

DEVICE = replace(AMOX, name="Glucose meter", batch_and_expiry=False)


def undated(batch: str = "B1", serial: str = "") -> PackScan:
    return PackScan(AMOX.gtin, None, batch, serial)


@pytest.mark.parametrize(
    ("pack", "reason", "said"),
    [
        (undated(), Reason.NO_EXPIRY, "no expiry date (AI 17) in the code"),
        (replace(scan(), batch=""), Reason.NO_BATCH, "no batch (AI 10) in the code"),
        (undated(batch=""), Reason.NO_EXPIRY, "no expiry date (AI 17) nor batch (AI 10)"),
    ],
    ids=["no expiry", "no batch", "neither"],
)
def test_a_code_without_the_expiry_or_batch_of_a_medicine_is_refused_naming_what_it_lacks(
    pack: PackScan, reason: Reason, said: str
) -> None:
    found = refusal(pack, {AMOX.gtin: AMOX}, SlotIndex(), TODAY, {(AMOX.gtin, "BAD")})
    assert found is not None and found.reason is reason
    assert said in found.why and "scan the pack's GS1 DataMatrix" in found.why


@pytest.mark.parametrize(
    ("pack", "reason"),
    [
        (replace(scan(), batch="", expiry=TODAY.replace(year=TODAY.year - 1)), Reason.EXPIRED),
        (undated(batch="BAD"), Reason.RECALLED),
    ],
    ids=["expired, no batch", "recalled, no expiry"],
)
def test_a_pack_that_must_go_back_is_refused_for_that_whatever_its_code_lacks(
    pack: PackScan, reason: Reason
) -> None:
    """Expired or recalled, it goes back with its alarm: never a pack to scan again by its
    DataMatrix, which a missing batch or expiry alone would make it."""
    found = refusal(pack, {AMOX.gtin: AMOX}, SlotIndex(), TODAY, {(AMOX.gtin, "BAD")})
    assert found is not None and found.reason is reason


def test_a_device_whose_codes_may_lack_batch_and_expiry_passes_without_them() -> None:
    assert AMOX.batch_and_expiry, "a product's codes carry both unless it says otherwise"
    for pack in (undated(), undated(batch=""), replace(scan(), batch="")):
        assert refusal(pack, {DEVICE.gtin: DEVICE}, SlotIndex(), TODAY, ()) is None


def test_an_undated_pack_is_not_booked_at_a_receiving_desk_nor_alarmed(tmp_path: Path) -> None:
    keeper = open_keeper(tmp_path / "l.sqlite", Clock())
    keeper.putaways.received(undated(serial="77"), "R-09", "Ana", "recv-desk")
    assert keeper.db.execute("SELECT count(*) FROM movements").fetchone()[0] == 0
    assert Cue("R-09", CueKind.MISTAKE) in keeper.putaways.cues()
    assert not {a.kind for a in keeper.alarms.live()} & {AlarmKind.REFUSED_PACK}


def booked(keeper: InventoryKeeper) -> list[tuple[str, str, str | None]]:
    rows = keeper.db.execute("SELECT batch, serial, expiry FROM movements WHERE kind = 'receive'")
    return [tuple(r) for r in rows]


def test_a_pack_refused_undated_then_scanned_by_its_datamatrix_and_put_is_no_refused_pack(
    tmp_path: Path,
) -> None:
    """Its Digital Link without expiry first, then its DataMatrix: one serialized pack, one
    counted; the delivery's answer names no refused pack, and both are booked dated."""
    keeper = open_keeper(tmp_path / "l.sqlite", Clock())
    desk = keeper.putaways
    desk.notice(Notice("D-1", (NoticeLine(AMOX.gtin, 2, "B1"),), scanner="goods-in"))
    for serial in ("S1", ""):
        desk.scanned(undated(serial=serial), "goods-in", "R-01", "Ana")
    refused = answers(keeper, "refused")
    assert [r["reason"] for r in refused] == ["no expiry"] * 2
    assert all(validate("cmd-result", r) == [] for r in refused)
    assert booked(keeper) == [] and answers(keeper, "lit") == []
    for serial in ("S1", ""):
        desk.scanned(scan("B1", serial=serial), "goods-in", "R-01", "Ana")
    for lit in answers(keeper, "lit"):
        desk.button(str(lit["slot"]), 1, shown=desk.sessions["D-1"].number)
    expiry = scan().expiry
    assert expiry is not None
    assert booked(keeper) == [("B1", "S1", expiry.isoformat()), ("B1", "", expiry.isoformat())]
    desk.end("D-1", "Ana")
    [closed] = answers(keeper, "closed")
    assert (closed["put"], closed["refused"], closed["refused_packs"]) == (2, 0, [])


def test_a_pack_refused_undated_and_never_scanned_again_is_named_refused_at_the_close(
    tmp_path: Path,
) -> None:
    keeper = open_keeper(tmp_path / "l.sqlite", Clock())
    desk = keeper.putaways
    desk.scanned(replace(scan("B1", serial="S2"), batch=""), "goods-in", "R-01", "Ana")
    [session] = desk.sessions
    desk.end(session, "Ana")
    [closed] = answers(keeper, "closed")
    assert validate("cmd-result", closed) == []
    [pack] = closed["refused_packs"]  # type: ignore[misc]
    assert (pack["serial"], pack["reason"], closed["refused"]) == ("S2", "no batch", 1)


def test_a_counted_pack_refused_for_no_batch_then_put_by_its_datamatrix_is_no_refused_pack(
    tmp_path: Path,
) -> None:
    """Refused with the empty batch its first code gave, put with the batch of its DataMatrix
    (no notice: nothing announced to count it against): one refusal for want of a batch goes
    when a counted pack of the product is put."""
    keeper = open_keeper(tmp_path / "l.sqlite", Clock())
    desk = keeper.putaways
    desk.scanned(replace(scan("B1", serial=""), batch=""), "goods-in", "R-01", "Ana")
    assert [r["reason"] for r in answers(keeper, "refused")] == ["no batch"]
    desk.scanned(scan("B1", serial=""), "goods-in", "R-01", "Ana")
    [lit] = answers(keeper, "lit")
    [session] = desk.sessions.values()
    desk.button(str(lit["slot"]), 1, shown=session.number)
    desk.end(session.delivery_id, "Ana")
    [closed] = answers(keeper, "closed")
    assert (closed["put"], closed["refused"], closed["refused_packs"]) == (1, 0, [])
