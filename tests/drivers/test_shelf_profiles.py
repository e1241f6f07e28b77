"""Both built-in register maps pinned by addresses and values from their documents (see
docs/modbus-profile.md), not by round trips through our own encoder alone."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.modbus.controller import ControllerSpec
from drivers.modbus.lights import DARK, Colour, Mode, SlotLight, changed_runs
from drivers.modbus.profile import (
    BANNER_PICK_IQ,
    COUNTER_WRAP,
    MOST_PRESSES_PER_POLL,
    PROFILES,
    RXEDGE_PTL_V1,
    Buttons,
    ShelfProfile,
    Table,
)


def registers(profile: ShelfProfile, slot: int, light: SlotLight) -> dict[tuple[Table, int], int]:
    """(table, protocol address) -> value that showing `light` on `slot` needs."""
    return {(p.table, p.base + slot): p.encode(light) for p in profile.all_planes}


def test_profiles_are_known_by_name() -> None:
    assert PROFILES == {"rxedge-ptl-v1": RXEDGE_PTL_V1, "banner-pick-iq": BANNER_PICK_IQ}


def test_rxedge_ptl_v1_register_map() -> None:
    light = SlotLight(True, Colour.AMBER, Mode.SLOW_BLINK, 3)
    assert registers(RXEDGE_PTL_V1, 4, light) == {
        (Table.COILS, 5): 1,
        (Table.HOLDING_REGISTERS, 1005): 3,
        (Table.HOLDING_REGISTERS, 2005): 1,
        (Table.HOLDING_REGISTERS, 3005): 3,
    }
    assert RXEDGE_PTL_V1.buttons == Buttons(Table.INPUT_REGISTERS, 1001, counting=True)
    assert RXEDGE_PTL_V1.decode({"on": 1, "colour": 4, "mode": 2, "number": 12}) == SlotLight(
        True, Colour.BLUE, Mode.FAST_BLINK, 12
    )


def test_banner_pick_iq_register_map() -> None:
    light = SlotLight(True, Colour.AMBER, Mode.FAST_BLINK, 7)
    assert registers(BANNER_PICK_IQ, 0, light) == {
        (Table.HOLDING_REGISTERS, 6300): 2,  # animation: flash
        (Table.HOLDING_REGISTERS, 6301): 3,  # colour 1: amber
        (Table.HOLDING_REGISTERS, 6305): 2,  # speed: fast
    }
    steady_blue = registers(BANNER_PICK_IQ, 0, SlotLight(True, Colour.BLUE, Mode.STEADY))
    assert steady_blue[(Table.HOLDING_REGISTERS, 6300)] == 1
    assert steady_blue[(Table.HOLDING_REGISTERS, 6301)] == 9
    assert registers(BANNER_PICK_IQ, 0, DARK)[(Table.HOLDING_REGISTERS, 6300)] == 0
    assert BANNER_PICK_IQ.buttons == Buttons(Table.DISCRETE_INPUTS, 1, counting=False)
    settings = {(s.table, s.address): s.value for s in BANNER_PICK_IQ.settings}
    assert settings[(Table.HOLDING_REGISTERS, 6101)] == 192  # 19200 baud
    assert BANNER_PICK_IQ.baudrate == 19200


def test_banner_decodes_its_own_colour_indexes() -> None:
    decoded = BANNER_PICK_IQ.decode({"animation": 2, "colour": 13, "speed": 0})
    assert decoded == SlotLight(True, Colour.WHITE, Mode.SLOW_BLINK, 0)
    with pytest.raises(ValueError, match="colour index 5"):
        BANNER_PICK_IQ.decode({"animation": 1, "colour": 5, "speed": 0})


def test_a_family_without_a_display_shows_no_number() -> None:
    light = SlotLight(True, Colour.GREEN, Mode.STEADY, 4)
    assert BANNER_PICK_IQ.shown(light) == SlotLight(True, Colour.GREEN, Mode.STEADY, 0)
    assert RXEDGE_PTL_V1.shown(light) == light
    assert BANNER_PICK_IQ.shown(SlotLight(False, Colour.RED, Mode.FAST_BLINK, 0)) == DARK


def test_press_counters_wrap_and_a_restarted_counter_is_no_press() -> None:
    counter = RXEDGE_PTL_V1.buttons
    assert counter.presses([65535, 7, 5], [0, 10, 5]) == [(0, 1), (1, 3)]
    assert counter.presses([40], [0]) == [], "a counter back at zero is a reboot, not presses"


counts = st.integers(0, COUNTER_WRAP - 1)


@given(st.lists(st.tuples(counts, counts), min_size=1, max_size=8))
def test_no_counter_change_is_ever_more_than_a_polls_worth_of_presses(
    reads: list[tuple[int, int]],
) -> None:
    """Going back by one is 65535 presses to the arithmetic of a wrapping counter: never counted."""
    before, now = [a for a, _ in reads], [b for _, b in reads]
    for _slot, presses in RXEDGE_PTL_V1.buttons.presses(before, now):
        assert 0 < presses <= MOST_PRESSES_PER_POLL


def test_a_counter_read_behind_the_last_keeps_the_last() -> None:
    counter = RXEDGE_PTL_V1.buttons
    # Back by one (a stale answer), back across the wrap, forward, a jump (a new baseline).
    assert counter.latest([10, 2, 10, 10], [9, 65535, 12, 5000]) == [10, 2, 12, 5000]
    assert counter.presses([10], [9]) == [], "a counter gone back is no press"
    touch = BANNER_PICK_IQ.buttons
    assert touch.latest([1, 0], [0, 1]) == [0, 1], "touch inputs are as read"


def test_touch_inputs_count_rising_edges() -> None:
    touch = BANNER_PICK_IQ.buttons
    assert touch.presses([0, 1, 1, 0], [1, 1, 0, 0]) == [(0, 1)]


def test_changed_runs_group_consecutive_changes_where_asked() -> None:
    assert changed_runs([0, 0, 0, 0, 0], [1, 1, 0, 2, 0]) == [(0, [1, 1]), (3, [2])]
    assert changed_runs([1, 2], [1, 2]) == []
    assert changed_runs([0, 0, 0], [0, 5, 6]) == [(1, [5, 6])]
    assert changed_runs([None, 2], [1, 2]) == [(0, [1])]
    assert changed_runs([1, 1, 0], [0, 0, 1], where=lambda v: v == 0) == [(0, [0, 0])]


def test_a_controller_asks_for_no_more_slots_than_its_profile_drives() -> None:
    with pytest.raises(ValueError, match=r"banner-pick-iq drives one slot \(slots = 1\)"):
        ControllerSpec("A", 1, 24, BANNER_PICK_IQ)
    with pytest.raises(ValueError, match="device id 248"):
        ControllerSpec("A", 248, 1, RXEDGE_PTL_V1)
