"""A slot several pick lists or put-aways want shows one owner at a time, never taking turns:
pick lists before put-aways, the one that lit it first (the older list) first, until its
packs there are taken or put; and a press just after the slot changed owner is the previous
owner's (unit tests of the light plan and of ShelfLights; the whole path on the running
daemon is tests/edge/test_shared_slots.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from drivers.modbus.lights import SlotLight
from drivers.modbus.profile import Colour, Mode
from edge.lights.light_plan import (
    DEFAULT_PICKER_COLOURS,
    MISTAKE_LIGHT,
    LightPlan,
    plan_lights,
    plan_slots,
)
from edge.lights.shelf_lights import HANDOVER_SECONDS, ShelfLights
from inventory.changes import ConfirmButton
from inventory.picking.outcome import NOBODY, Cue, CueKind, Holder
from inventory.stock.slot_index import SlotIndex
from tests.conftest import eventually

GREEN, BLUE, WHITE = Colour.GREEN, Colour.BLUE, Colour.WHITE


def steady(colour: Colour, number: int) -> SlotLight:
    return SlotLight(True, colour, Mode.STEADY, number)


def pick(picker: int, number: int, since: float, kind: CueKind = CueKind.PICK) -> Cue:
    return Cue("A-01", kind, picker, number, Holder.PICK_LIST, since)


def put(colour_number: int, packs: int, since: float) -> Cue:
    return Cue("A-01", CueKind.PUT, colour_number, packs, Holder.PUTAWAY, since)


def shown(*cues: Cue) -> SlotLight:
    return plan_lights([], SlotIndex(), cues)["A-01"]


def test_the_older_list_shows_alone_whatever_its_colour_and_the_order_of_the_cues() -> None:
    older, younger = pick(1, 2, since=100.0), pick(0, 1, since=200.0)
    assert shown(older, younger) == steady(BLUE, 2)
    assert shown(younger, older) == steady(BLUE, 2), "not by the order the desks gave them"
    assert shown(younger) == steady(GREEN, 1), "the younger once the older's packs are taken"


def test_an_owner_shows_its_own_count_summed_over_its_lines_and_blinks_once_reminded() -> None:
    assert shown(pick(0, 2, 100.0), pick(1, 5, 200.0), pick(0, 1, 100.0)) == steady(GREEN, 3)
    reminded = pick(0, 2, 100.0, CueKind.REMIND)
    assert shown(reminded, pick(1, 5, 200.0)) == SlotLight(True, GREEN, Mode.SLOW_BLINK, 2)
    assert shown(pick(0, 2, 100.0), pick(1, 5, 200.0, CueKind.REMIND)) == steady(GREEN, 2)


def test_a_pick_list_goes_before_an_earlier_put_away_and_put_aways_by_who_lit_it_first() -> None:
    assert shown(put(0, 4, since=10.0), pick(1, 1, since=500.0)) == steady(BLUE, 1)
    assert shown(put(0, 4, since=10.0), put(2, 1, since=5.0)) == steady(WHITE, 1)


def test_lists_begun_at_the_same_moment_keep_one_order() -> None:
    assert shown(pick(1, 1, 100.0), pick(0, 2, 100.0)) == steady(GREEN, 2)
    assert shown(pick(0, 2, 100.0), pick(1, 1, 100.0)) == steady(GREEN, 2)


def test_a_mistake_shows_over_the_owner() -> None:
    assert shown(pick(0, 2, 100.0), Cue("A-01", CueKind.MISTAKE)) == MISTAKE_LIGHT


class _Feed:
    def show(self, before: Mapping[str, SlotLight], plan: Mapping[str, SlotLight]) -> None:
        pass


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def lights(clock: _Clock) -> ShelfLights:
    colours = [c.name.lower() for c in DEFAULT_PICKER_COLOURS]
    return ShelfLights(colours, lambda: {}, lambda _a: None, cast(Any, _Feed()), clock, 30.0)


def test_a_press_just_after_a_handover_is_the_previous_owners_then_the_new_ones() -> None:
    clock = _Clock()
    shelf = lights(clock)
    shelf.show(LightPlan({"A-01": steady(GREEN, 1)}))
    assert shelf.shown_picker("A-01") == 0
    shelf.show(LightPlan({"A-01": steady(BLUE, 1)}))  # green's last pack there taken: blue's turn
    clock.now += HANDOVER_SECONDS * 0.9
    assert shelf.shown_picker("A-01") == 0, "read a poll late, or pressed once more: green's"
    clock.now += HANDOVER_SECONDS * 0.2
    assert shelf.shown_picker("A-01") == 1


def test_a_slot_going_dark_or_red_is_no_handover_a_press_there_shows_no_owner() -> None:
    clock = _Clock()
    shelf = lights(clock)
    shelf.show(LightPlan({"A-01": steady(GREEN, 1), "A-02": steady(GREEN, 2)}))
    shelf.show(LightPlan({"A-02": MISTAKE_LIGHT}, reds={"A-02": 0}))  # green's mistake at A-02
    assert (shelf.shown_picker("A-01"), shelf.shown_picker("A-02")) == (None, None)
    shelf.show(LightPlan({"A-02": steady(GREEN, 2)}))
    assert shelf.shown_picker("A-02") == 0, "the owner's again, whose mistake it was"
    shelf.show(LightPlan({"A-02": steady(BLUE, 1)}))
    shelf.show(LightPlan({"A-02": MISTAKE_LIGHT}, reds={"A-02": 1}))  # red just after a handover
    assert shelf.shown_picker("A-02") is None


def test_an_owners_count_going_down_is_no_handover_and_an_alarm_light_is_no_owner() -> None:
    clock = _Clock()
    shelf = lights(clock)
    shelf.show(
        LightPlan({"A-01": steady(GREEN, 2), "A-02": SlotLight(True, Colour.AMBER, Mode.STEADY, 0)})
    )
    shelf.show(
        LightPlan({"A-01": steady(GREEN, 1), "A-02": SlotLight(True, WHITE, Mode.FAST_BLINK, 3)})
    )
    assert shelf.shown_picker("A-01") == 0
    assert shelf.shown_picker("A-02") is None, "a shortage, then a located drug: nobody's"
    shelf.show(LightPlan({"A-02": steady(BLUE, 1)}))  # lit from nobody's: no press to keep from it
    assert shelf.shown_picker("A-02") == 1
    shelf.show(LightPlan({"A-01": steady(GREEN, 1)}))
    shelf.show(LightPlan({"A-01": steady(BLUE, 1)}))
    shelf.show(LightPlan({}))  # blue's pack taken at once: no owner left to keep green's press from
    assert shelf.shown_picker("A-01") is None


def test_a_held_press_for_the_previous_owner_leaves_the_new_owners_count() -> None:
    clock = _Clock()
    shelf = lights(clock)
    shelf.show(LightPlan({"A-01": steady(GREEN, 1)}))
    shelf.show(LightPlan({"A-01": steady(BLUE, 2)}))
    release = shelf.held(ConfirmButton("A-01", 1, shelf.shown_picker("A-01")))
    assert release is not None
    assert shelf.lit["A-01"] == steady(BLUE, 2), "green's press is not blue's pack"
    clock.now += HANDOVER_SECONDS
    assert shelf.held(ConfirmButton("A-01", 1, shelf.shown_picker("A-01"))) is not None
    assert shelf.lit["A-01"] == steady(BLUE, 1)


def test_the_plan_names_the_owners_behind_and_whose_mistake_a_red_is() -> None:
    plan = plan_slots([], SlotIndex(), [pick(1, 1, 200.0), put(2, 3, 50.0), pick(0, 2, 100.0)])
    assert plan.lights["A-01"] == steady(GREEN, 2)
    assert plan.behind["A-01"] == (steady(BLUE, 1), steady(WHITE, 3)), "next first"
    red = plan_slots([], SlotIndex(), [pick(0, 2, 100.0), Cue("A-01", CueKind.MISTAKE, whose=1)])
    assert (red.lights["A-01"], red.reds) == (MISTAKE_LIGHT, {"A-01": 1})
    put_aways = plan_slots([], SlotIndex(), [Cue("A-01", CueKind.MISTAKE)])  # a put-away's red
    assert put_aways.reds == {"A-01": NOBODY}


def test_a_press_just_after_a_red_ends_is_for_the_list_whose_mistake_it_was() -> None:
    clock = _Clock()
    shelf = lights(clock)
    shelf.show(LightPlan({"A-01": steady(GREEN, 1)}))
    shelf.show(LightPlan({"A-01": MISTAKE_LIGHT}, reds={"A-01": 0}))  # green's mistake
    assert shelf.shown_picker("A-01") is None, "on red the desks judge"
    shelf.show(LightPlan({"A-01": steady(BLUE, 1)}))  # green's right pack booked: blue's turn
    clock.now += HANDOVER_SECONDS * 0.9
    assert shelf.shown_picker("A-01") == 0, "green's picker presses once more: green's"
    clock.now += HANDOVER_SECONDS * 0.2
    assert shelf.shown_picker("A-01") == 1


def test_a_press_just_after_a_red_no_list_made_is_for_nobody_whatever_follows() -> None:
    clock = _Clock()
    shelf = lights(clock)
    shelf.show(
        LightPlan(
            {"A-01": MISTAKE_LIGHT, "A-02": MISTAKE_LIGHT},
            reds=dict.fromkeys(["A-01", "A-02"], NOBODY),
        )
    )
    shelf.show(LightPlan({"A-01": steady(GREEN, 1)}))  # A-02 dark
    assert (shelf.shown_picker("A-01"), shelf.shown_picker("A-02")) == (NOBODY, NOBODY)
    clock.now += HANDOVER_SECONDS
    assert (shelf.shown_picker("A-01"), shelf.shown_picker("A-02")) == (0, None)


async def test_a_press_just_after_the_red_of_a_press_not_recorded_is_for_nobody() -> None:
    clock = _Clock()
    colours = [c.name.lower() for c in DEFAULT_PICKER_COLOURS]
    shelf = ShelfLights(colours, lambda: {}, lambda _a: None, cast(Any, _Feed()), clock, 0.05)
    shelf.show(LightPlan({"A-01": steady(GREEN, 1)}))
    shelf.not_recorded.tell(ConfirmButton("A-01", 1, 0))
    assert shelf.lit["A-01"] == MISTAKE_LIGHT
    assert shelf.shown_picker("A-01") == 0, "no mistake: pressed again, for the owner under it"
    await eventually(lambda: shelf.lit.get("A-01") == steady(GREEN, 1), what="the red's end")
    assert shelf.shown_picker("A-01") == NOBODY
    clock.now += HANDOVER_SECONDS
    assert shelf.shown_picker("A-01") == 0


def test_held_presses_that_end_the_owners_count_show_the_next_owner_and_keep_its_press() -> None:
    clock = _Clock()
    shelf = lights(clock)
    shelf.show(LightPlan({"A-01": steady(GREEN, 2)}, behind={"A-01": (steady(BLUE, 1),)}))
    assert shelf.held(ConfirmButton("A-01", 2, 0)) is not None  # green's two, disk full
    assert shelf.lit["A-01"] == steady(BLUE, 1), "blue still wants A-01: not dark"
    assert shelf.shown_picker("A-01") == 0, "a press just after is green's, as at a handover"
    clock.now += HANDOVER_SECONDS
    assert shelf.shown_picker("A-01") == 1, "then blue's, never held for green"
    assert shelf.held(ConfirmButton("A-01", 1, 1)) is not None
    assert "A-01" not in shelf.lit and shelf.shown_picker("A-01") == 1
