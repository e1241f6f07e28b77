"""A press held while the ledger cannot be written is shown at once on the shelf, for the
picker it was pressed for only, and kept on disk until written (unit tests of ShelfLights and
ActionJournal; the whole path against a full disk is tests/edge/test_disk_full.py)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import pytest

from drivers.modbus.lights import SlotLight
from drivers.modbus.profile import Colour, Mode
from edge.clock import Clock
from edge.daemon.action_journal import RESERVED, ActionJournal
from edge.lights.light_plan import LightPlan
from edge.lights.shelf_lights import ShelfLights
from inventory.changes import ConfirmButton, PickTick


class _Feed:
    def show(self, before: Mapping[str, SlotLight], plan: Mapping[str, SlotLight]) -> None:
        pass


def lights() -> ShelfLights:
    feed = cast(Any, _Feed())
    return ShelfLights(
        ["green", "blue"], lambda: {}, lambda _a: None, feed, Clock().monotonic, 30.0
    )


def steady(colour: Colour, number: int) -> SlotLight:
    return SlotLight(True, colour, Mode.STEADY, number)


def test_a_held_press_counts_down_its_own_pickers_number_only() -> None:
    shelf = lights()
    put_away = {"A-01": steady(Colour.GREEN, 2)}  # a put-away's two packs (colour 0)
    pick_list = {"A-01": steady(Colour.BLUE, 1)}  # a pick list, which goes first
    shelf.show(LightPlan(put_away))
    release = shelf.held(ConfirmButton("A-01", 1, 0))  # pressed for the put-away (green)
    assert release is not None
    assert shelf.lit["A-01"] == steady(Colour.GREEN, 1)
    shelf.show(LightPlan(pick_list))  # a pick list started there: its count is not touched
    assert shelf.lit["A-01"] == steady(Colour.BLUE, 1)
    shelf.show(LightPlan(put_away))  # the list cancelled: the put-away's again
    assert shelf.lit["A-01"] == steady(Colour.GREEN, 1)
    release(True)  # booked: the ledger's plan is shown as it is
    assert shelf.lit["A-01"] == steady(Colour.GREEN, 2)


def test_a_slot_a_held_press_darkened_still_says_whose_it_was() -> None:
    shelf = lights()
    shelf.show(LightPlan({"A-02": steady(Colour.BLUE, 1)}))
    assert shelf.held(ConfirmButton("A-02", 1, 1)) is not None
    assert "A-02" not in shelf.lit, "none left there: dark"
    assert shelf.shown_picker("A-02") == 1, "a second press still goes to blue's list"


def test_only_presses_are_held_at_the_shelf() -> None:
    assert lights().held(PickTick()) is None


def test_a_kept_press_comes_back_until_it_is_done(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite.presses"
    first = ActionJournal(path, Clock())
    assert first.open() == []
    assert path.stat().st_blocks * 512 >= RESERVED, "its room reserved at the start"
    press = ConfirmButton("A-01", 2, 1, ("urn:epc:id:sgtin:4012345.012345.7",))
    kept = first.keep(press)
    assert kept is not None and kept.then == press
    first.close()  # a stop before the ledger took it

    second = ActionJournal(path, Clock())
    assert second.open() == [kept], "carried out again, under the same key"
    second.done(kept.message_id)
    second.close()
    assert not path.read_bytes().strip(b"\0"), "emptied once done"
    assert ActionJournal(path, Clock()).open() == []


def test_a_press_torn_by_a_power_cut_is_passed_over(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "presses"
    journal = ActionJournal(path, Clock())
    journal.open()
    kept = journal.keep(ConfirmButton("A-01", 1, 0))
    journal.close()
    whole = path.read_bytes().rstrip(b"\0")
    with open(path, "r+b") as f:
        f.seek(len(whole))
        f.write(whole[: len(whole) // 2])  # a second record, cut off
    assert ActionJournal(path, Clock()).open() == [kept]
    assert "cannot be read" in caplog.text


def test_a_press_kept_after_a_torn_one_comes_back_after_the_next_stop(tmp_path: Path) -> None:
    """The record the power cut tore (a long one) is not the start of the next record's line:
    the press kept after the restart, answered at the shelf as booked, survives the next."""
    path = tmp_path / "presses"
    journal = ActionJournal(path, Clock())
    journal.open()
    first = journal.keep(ConfirmButton("A-01", 1, 0))
    journal.close()
    whole = path.read_bytes().rstrip(b"\0")
    epcs = tuple(f"urn:epc:id:sgtin:4012345.012345.{n}" for n in range(8))
    torn = ActionJournal(tmp_path / "other", Clock())
    torn.open()
    torn.keep(ConfirmButton("A-02", 8, 0, epcs))
    torn.close()
    long_record = (tmp_path / "other").read_bytes().rstrip(b"\0")
    with open(path, "r+b") as f:
        f.seek(len(whole))
        f.write(long_record[:-2])  # the second record, cut off before its end
    after_cut = ActionJournal(path, Clock())
    assert after_cut.open() == [first]
    later = after_cut.keep(ConfirmButton("A-05", 3, 0))
    assert later is not None
    after_cut.close()
    assert ActionJournal(path, Clock()).open() == [first, later]
    lines = path.read_bytes().rstrip(b"\0")
    assert b"\0" not in lines and lines.endswith(b"\n") and lines.count(b"\n") == 2


def test_presses_beyond_the_room_are_not_kept(tmp_path: Path) -> None:
    journal = ActionJournal(tmp_path / "presses", Clock(), size=200)
    journal.open()
    assert journal.keep(ConfirmButton("A-01", 1, 0)) is not None
    assert journal.keep(ConfirmButton("A-02", 1, 0)) is None
