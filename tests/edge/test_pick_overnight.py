"""A pick list open when the site's midnight passes: a batch that expired at midnight is no
longer lit for it, before the nightly expiry sweep holds the batch back."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from drivers.modbus.lights import DARK, SlotLight
from drivers.modbus.profile import Colour, Mode
from edge.demo.local_broker import LocalBroker
from sync.commands import with_envelope
from tests.clocks import SteppedClock
from tests.conftest import Subscriber, eventually
from tests.edge.pick_rig import AMOX, PREFIX, start_rig, statuses, stop_rig


async def test_a_batch_expiring_at_midnight_is_replaced_for_an_open_list(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    clock = SteppedClock()
    rig = await start_rig(
        tmp_path, broker, clock=clock, timezone="UTC", alarms={"expiry_sweep_at": "02:00"}
    )
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        body = {"pick_id": "rx-night", "lines": [{"gtin": AMOX, "quantity": 2}]}
        centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(body)))
        one = SlotLight(True, Colour.GREEN, Mode.STEADY, 1)
        await eventually(lambda: rig.shows("A-02", one), what="batch EARLY lit first (FEFO)")
        # Half past midnight the day after EARLY's expiry, before the nightly sweep at 02:00.
        night = datetime(2029, 2, 1, 0, 30, tzinfo=UTC)
        clock.step((night - clock.now()).total_seconds())
        two = SlotLight(True, Colour.GREEN, Mode.STEADY, 2)
        await eventually(lambda: rig.shows("A-01", two), what="both packs from batch LATE")
        assert await rig.light("A-02") == DARK, "an expired batch is still lit for the list"
        await rig.press("A-01", times=2)
        await eventually(lambda: "done" in statuses(centre, "rx-night"), what="done")
        assert rig.picks() == [("A-01", "LATE", "rx-night")] * 2
    finally:
        await stop_rig(rig)
