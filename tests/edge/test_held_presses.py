"""A press held while the ledger cannot be written is shown at once on the shelf, for the
picker it was pressed for only (a unit test of ShelfLights; the whole path against a full
disk is tests/edge/test_disk_full.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from drivers.modbus.lights import SlotLight
from drivers.modbus.profile import Colour, Mode
from edge.lights.shelf_lights import ShelfLights
from inventory.changes import ConfirmButton, PickTick


class _Feed:
    def show(self, before: Mapping[str, SlotLight], plan: Mapping[str, SlotLight]) -> None:
        pass


def lights() -> ShelfLights:
    return ShelfLights(["green", "blue"], lambda: {}, lambda _a: None, cast(Any, _Feed()))


def steady(colour: Colour, number: int) -> SlotLight:
    return SlotLight(True, colour, Mode.STEADY, number)


def test_a_held_press_counts_down_its_own_pickers_number_only() -> None:
    shelf = lights()
    green_turn = {"A-01": steady(Colour.GREEN, 2)}
    blue_turn = {"A-01": steady(Colour.BLUE, 1)}
    shelf.show(green_turn)
    release = shelf.held(ConfirmButton("A-01", 1, 0))  # pressed for picker 0 (green)
    assert release is not None
    assert shelf.lit["A-01"] == steady(Colour.GREEN, 1)
    shelf.show(blue_turn)  # the lists take turns: blue's count is not touched
    assert shelf.lit["A-01"] == steady(Colour.BLUE, 1)
    shelf.show(green_turn)
    assert shelf.lit["A-01"] == steady(Colour.GREEN, 1)
    release(True)  # booked: the ledger's plan is shown as it is
    assert shelf.lit["A-01"] == steady(Colour.GREEN, 2)


def test_a_slot_a_held_press_darkened_still_says_whose_it_was() -> None:
    shelf = lights()
    shelf.show({"A-02": steady(Colour.BLUE, 1)})
    assert shelf.held(ConfirmButton("A-02", 1, 1)) is not None
    assert "A-02" not in shelf.lit, "none left there: dark"
    assert shelf.shown_picker("A-02") == 1, "a second press still goes to blue's list"


def test_only_presses_are_held_at_the_shelf() -> None:
    assert lights().held(PickTick()) is None
