"""Press counters and the heartbeat read as going back, on a line of rxedge-ptl-v1 controllers. A
counter behind the last read is a stale answer unless the heartbeat shows a restart: it must not
make the presses after it count twice. A heartbeat a little behind is a stale answer too, not a
restart: a restart counts every press counter from zero, so a false one makes up presses."""

from __future__ import annotations

import pytest

from drivers.events import ButtonPressed, DeviceDown
from tests.drivers.conftest import CONTROLLERS, SETUPS, RtuRig

pytestmark = pytest.mark.parametrize("rig", [SETUPS[0]], indirect=True)  # press counters

B = CONTROLLERS["B"]
STEP = 0.25  # test-clock seconds per cycle: the heartbeat is read every fourth


def presses(rig: RtuRig) -> list[ButtonPressed]:
    return [e for e in rig.events if isinstance(e, ButtonPressed)]


async def test_a_counter_read_behind_the_last_makes_no_press_count_twice(rig: RtuRig) -> None:
    await rig.cycles(1, STEP)
    await rig.sim.press(1, times=3, device_id=B)
    await rig.cycles(1, STEP)
    assert presses(rig) == [ButtonPressed("B", 1, 3)]
    await rig.sim.set_counter(1, 2, device_id=B)  # one poll sees an older count
    await rig.cycles(1, STEP)
    await rig.sim.set_counter(1, 3, device_id=B)  # and the next the current one again
    await rig.cycles(1, STEP)
    await rig.sim.press(1, device_id=B)
    await rig.cycles(1, STEP)
    assert presses(rig) == [ButtonPressed("B", 1, 3), ButtonPressed("B", 1, 1)]
    assert rig.bus.stats("B").restarts == 0


async def test_a_heartbeat_read_behind_the_last_is_not_a_restart(rig: RtuRig) -> None:
    await rig.sim.set_heartbeat(5000, device_id=B)  # up for well over an hour
    await rig.sim.press(1, times=37, device_id=B)
    await rig.cycles(6, STEP)  # the heartbeat read twice, the counters as baseline
    assert rig.bus.stats("B").heartbeats == 2
    await rig.sim.set_heartbeat(await rig.sim.heartbeat(B) - 1, device_id=B)
    await rig.cycles(5, STEP)  # read again once, and polls on
    assert presses(rig) == [], "a stale heartbeat counted every press counter from zero"
    assert rig.bus.stats("B").restarts == 0


async def test_presses_made_while_a_controller_was_down_are_counted_on_its_return(
    rig: RtuRig,
) -> None:
    """A cut stub of the bus: the controller kept running, so its counters kept the presses."""
    await rig.sim.set_heartbeat(5000, device_id=B)
    await rig.sim.press(1, times=4, device_id=B)
    await rig.cycles(6, STEP)  # the counters and the heartbeat read as they are
    rig.sim.silence(B)
    await rig.cycles(3, STEP)
    assert DeviceDown in {type(e) for e in rig.events}, "B marked down"
    await rig.sim.press(1, times=2, device_id=B)  # confirmed while the gateway has it down
    await rig.sim.press(5, device_id=B)
    await rig.cycles(8, STEP)
    rig.sim.unsilence(B)
    await rig.cycles(4, STEP)
    assert rig.bus.is_up("B")
    assert presses(rig) == [ButtonPressed("B", 1, 2), ButtonPressed("B", 5, 1)]
    assert rig.bus.stats("B").restarts == 0


async def test_a_controller_that_restarted_while_down_counts_its_presses_from_zero(
    rig: RtuRig,
) -> None:
    await rig.sim.set_heartbeat(5000, device_id=B)
    await rig.sim.press(1, times=40, device_id=B)
    await rig.cycles(6, STEP)
    rig.sim.silence(B)
    await rig.cycles(3, STEP)
    await rig.sim.power_cycle(B)  # back blank: counters and heartbeat at zero
    await rig.sim.press(1, times=3, device_id=B)
    await rig.cycles(8, STEP)
    rig.sim.unsilence(B)
    await rig.cycles(4, STEP)
    assert rig.bus.is_up("B")
    assert presses(rig) == [ButtonPressed("B", 1, 3)], "the 3 presses since the restart only"
    assert rig.bus.stats("B").restarts == 1
