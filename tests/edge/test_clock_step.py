"""The wall clock steps an hour under the running daemon (an NTP correction): packs on the shelf
are not judged gone, devices are not judged down, reading goes on, and an open pick list keeps
its reminder and timeout. Dwell timers, back-off and device health run on the monotonic clock;
pick and put-away times on a clock that does not step while the daemon runs."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from edge.demo.local_broker import LocalBroker
from sync.commands import with_envelope
from tests.clocks import SteppedClock
from tests.conftest import Subscriber, eventually
from tests.edge.pick_rig import AMOX, PREFIX, TAGGED, start_rig, statuses, stop_rig


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


@pytest.mark.parametrize("step", [3600.0, -3600.0], ids=["forward", "back"])
async def test_a_pick_list_keeps_its_time_across_a_clock_step(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber], step: float
) -> None:
    """A pharmacist's open list is reminded, then times out, after as long as the settings say,
    whichever way NTP steps the wall clock meanwhile: a step forward ends no list at once, a
    step back leaves none open (and lit) for an hour."""
    clock = SteppedClock()
    picking = {"remind_after_seconds": 1.0, "timeout_seconds": 2.5, "mistake_seconds": 5}
    rig = await start_rig(tmp_path, broker, clock=clock, picking=picking)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        body = {"pick_id": "rx-step", "lines": [{"gtin": AMOX, "quantity": 1}]}
        centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(body)))
        await eventually(lambda: statuses(centre, "rx-step") == ["accepted"], what="accepted")
        clock.step(step)
        begun = time.monotonic()
        await eventually(
            lambda: "timed_out" in statuses(centre, "rx-step"), timeout=15, what="the timeout"
        )
        assert statuses(centre, "rx-step") == ["accepted", "reminder", "timed_out"]
        assert time.monotonic() - begun > 1.0, "the list timed out at the step"
    finally:
        await stop_rig(rig)
