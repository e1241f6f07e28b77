"""Presses made between two runs of the gateway, on a line of simulated controllers: the bus hands
on what it read of each controller to be kept, and a bus started later with it counts the
presses made meanwhile at its first reading, when the controller's heartbeat shows that it ran
on without a restart. A restart, a replaced controller, a clock set between the runs or a stop
too long to tell make the first reading the baseline instead: no press is made up."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping

import pytest

from drivers.events import ButtonPressed, DriverEvent
from drivers.modbus.between_runs import counted_from
from drivers.modbus.controller import LastRead
from drivers.modbus.profile import BANNER_PICK_IQ, RXEDGE_PTL_V1
from drivers.modbus.rtu_line import RtuClient
from drivers.modbus.shelf_bus import ControllerSpec, ShelfBus
from tests.drivers.conftest import CONTROLLERS, SETUPS, RtuRig

B = CONTROLLERS["B"]
STEP = 0.25  # test-clock seconds per cycle: the heartbeat is read every fourth
UP_LONG = 5000  # a controller's heartbeat: up for well over an hour
LAST = LastRead((4, 0, 9), heartbeat=UP_LONG, at=100.0)
Kept = dict[str, LastRead]
StartAgain = Callable[[Mapping[str, LastRead], list[object]], ShelfBus]
COUNTING = pytest.mark.parametrize("rig", [SETUPS[0]], indirect=True)


def test_counters_kept_are_counted_from_when_the_heartbeat_ran_on_with_the_time() -> None:
    assert counted_from("B", LAST, [6, 0, 9], UP_LONG + 60, now=160.0) == [4, 0, 9]
    # its heartbeat a second behind or ahead of the bus's clock (rounding, its own clock)
    assert counted_from("B", LAST, [6, 0, 9], UP_LONG + 61, now=159.2) == [4, 0, 9]


def test_a_slot_not_kept_counts_from_its_first_reading_and_one_gone_is_forgotten() -> None:
    assert counted_from("B", LAST, [6, 0, 9, 7], UP_LONG + 5, now=105.0) == [4, 0, 9, 7]
    assert counted_from("B", LAST, [6, 0], UP_LONG + 5, now=105.0) == [4, 0]


@pytest.mark.parametrize(
    ("heartbeat", "now", "why"),
    [
        pytest.param(3, 160.0, "its heartbeat went on", id="restarted"),
        pytest.param(40_000, 160.0, "its heartbeat went on", id="replaced"),
        pytest.param(UP_LONG + 5, 400.0, "its heartbeat went on", id="clock-set-forward"),
        pytest.param(UP_LONG + 5, 40.0, "the clock was set back", id="clock-set-back"),
        pytest.param(UP_LONG + 4000, 100.0 + 70_000, "too long", id="too-long"),
    ],
)
def test_counters_kept_are_not_counted_from_when_the_heartbeat_cannot_vouch(
    heartbeat: int, now: float, why: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="drivers.modbus.between_runs"):
        assert counted_from("B", LAST, [6, 0, 9], heartbeat, now) is None
    said = "shelf controller B: presses made while the gateway was not running are not counted"
    assert said in caplog.text and why in caplog.text


@pytest.fixture
def started_again(rig: RtuRig) -> Iterator[StartAgain]:
    """Start a bus on the same line, as the gateway's next run makes it, with what was kept:
    its events and what it hands on to keep (name, reading) go to the list given."""
    made: list[ShelfBus] = []

    def start(kept: Mapping[str, LastRead], events: list[object]) -> ShelfBus:
        rig.bus.close()
        slots, profile = rig.setup.slots, rig.profile
        rig.bus = ShelfBus(
            "rs485",
            RtuClient(rig.sim.serial_port, rig.setup.baudrate),
            [ControllerSpec(n, d, slots, profile) for n, d in CONTROLLERS.items()],
            events.append,
            clock=rig.clock,
            last_read=kept,
            keep=lambda name, read: events.append((name, read)),
        )
        made.append(rig.bus)
        return rig.bus

    yield start
    for bus in made:
        bus.close()


def presses(events: list[object]) -> list[DriverEvent]:
    return [e for e in events if isinstance(e, ButtonPressed)]


async def first_run(rig: RtuRig, started_again: StartAgain) -> Kept:
    """A run of the bus in which B (up for long) had slot 1 pressed 4 times; what it kept."""
    log: list[object] = []
    kept: Kept = {}
    bus = started_again({}, log)
    await rig.sim.set_heartbeat(UP_LONG, device_id=B)
    await rig.sim.press(1, times=4, device_id=B)
    await rig.cycles(6, STEP)  # the counters read, then the heartbeat, kept
    await rig.sim.press(1, times=2, device_id=B)
    await rig.cycles(1, STEP)
    assert presses(log) == [ButtonPressed("B", 1, 2)]
    for entry in log:
        if isinstance(entry, tuple):
            kept[entry[0]] = entry[1]
    # kept before the press is told, so a stop between the two never counts it twice
    told = next(i for i, e in enumerate(log) if isinstance(e, ButtonPressed))
    assert ("B", kept["B"]) in log[:told]
    assert kept["B"].counters[1] == 6 and kept["B"].heartbeat >= UP_LONG
    assert bus.stats("B").restarts == 0
    return kept


@COUNTING
async def test_presses_made_between_two_runs_are_counted_at_the_first_reading(
    rig: RtuRig, started_again: StartAgain
) -> None:
    kept = await first_run(rig, started_again)
    rig.clock.now += 30  # the gateway stopped for half a minute, B counting on
    await rig.sim.set_heartbeat(await rig.sim.heartbeat(B) + 30, device_id=B)
    await rig.sim.press(1, times=3, device_id=B)
    await rig.sim.press(5, device_id=B)
    events: list[object] = []
    started_again(kept, events)
    await rig.cycles(1, STEP)
    assert presses(events) == [ButtonPressed("B", 1, 3), ButtonPressed("B", 5, 1)]
    await rig.cycles(8, STEP)
    assert len(presses(events)) == 2, "counted once"
    assert rig.bus.stats("B").restarts == 0


@COUNTING
async def test_a_controller_power_cycled_between_two_runs_makes_up_no_presses(
    rig: RtuRig, started_again: StartAgain, caplog: pytest.LogCaptureFixture
) -> None:
    kept = await first_run(rig, started_again)
    rig.clock.now += 30
    await rig.sim.power_cycle(B)  # counters and heartbeat from zero
    await rig.sim.set_heartbeat(20, device_id=B)
    await rig.sim.press(1, times=9, device_id=B)  # above the 6 kept
    events: list[object] = []
    with caplog.at_level(logging.WARNING, logger="drivers.modbus.between_runs"):
        started_again(kept, events)
        await rig.cycles(6, STEP)
    assert presses(events) == []
    assert "shelf controller B: presses made while the gateway was not running" in caplog.text
    await rig.sim.press(1, device_id=B)  # counted from the first reading on
    await rig.cycles(1, STEP)
    assert presses(events) == [ButtonPressed("B", 1, 1)]


@COUNTING
async def test_what_was_kept_of_a_controller_no_longer_on_the_bus_is_ignored(
    rig: RtuRig, started_again: StartAgain
) -> None:
    gone = LastRead((0,) * rig.setup.slots, UP_LONG, rig.clock.now)
    events: list[object] = []
    started_again({"Z": gone}, events)
    await rig.sim.press(2, times=2, device_id=B)
    await rig.cycles(6, STEP)
    assert presses(events) == []
    assert {e[0] for e in events if isinstance(e, tuple)} == set(CONTROLLERS), "each kept"


@pytest.mark.parametrize("rig", [SETUPS[1]], indirect=True)
async def test_a_profile_without_counters_or_heartbeat_keeps_nothing_and_says_so(
    rig: RtuRig, started_again: StartAgain, caplog: pytest.LogCaptureFixture
) -> None:
    assert rig.profile is BANNER_PICK_IQ and RXEDGE_PTL_V1.heartbeat is not None
    events: list[object] = []
    with caplog.at_level(logging.INFO, logger="drivers.modbus.between_runs"):
        started_again({"B": LastRead((0,), 1, rig.clock.now)}, events)
    await rig.sim.press(0, device_id=B)
    await rig.cycles(6, STEP)
    assert [e for e in events if isinstance(e, tuple)] == [], "nothing handed on to keep"
    assert "shelf bus rs485: on A, B, C presses made while the gateway was not running" in (
        caplog.text
    )
