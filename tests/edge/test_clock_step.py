"""The wall clock steps an hour forward under the running daemon (an NTP correction): packs on
the shelf are not judged gone, devices are not judged down, and reading goes on. Dwell timers,
back-off and device health run on the monotonic clock."""

from __future__ import annotations

import asyncio
from pathlib import Path

from edge.demo.local_broker import LocalBroker
from tests.clocks import SteppedClock
from tests.conftest import eventually
from tests.edge.pick_rig import TAGGED, start_rig, stop_rig


async def test_a_clock_step_breaks_no_timer(
    tmp_path: Path,
    broker: LocalBroker,
) -> None:
    clock = SteppedClock()
    rig = await start_rig(tmp_path, broker, clock=clock, devices={"down_alarm_seconds": 1})
    try:
        rig.reader.place(1, TAGGED)
        await eventually(lambda: any("put_away" in a.text for a in rig.activity))
        before = rig.movement_count()
        clock.step(3600.0)
        assert rig.gateway is not None
        reads = rig.gateway.counters["tag_reads"]
        await eventually(lambda: rig.gateway.counters["tag_reads"] > reads + 50, what="reading")
        await asyncio.sleep(1.5)  # longer than the dwell time (0.5 s) and the down-alarm time
        assert rig.movement_count() == before, "a clock step made a pack look taken"
        assert not any("is down" in a.text for a in rig.activity)
    finally:
        await stop_rig(rig)
