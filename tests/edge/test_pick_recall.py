"""A batch recalled while a pick list is open: its slot goes dark for the list, and a pack of
it the picker had already taken is caught when its button is pressed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from drivers.modbus.lights import SlotLight
from drivers.modbus.profile import Colour, Mode
from edge.demo.local_broker import LocalBroker
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.pick_rig import AMOX, PREFIX, RED, results, start_rig, stop_rig


async def test_a_press_on_a_slot_recalled_under_the_picker_shows_the_recall(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    rig = await start_rig(tmp_path, broker)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        body = {"pick_id": "rx-rc", "lines": [{"gtin": AMOX, "quantity": 1}]}
        centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(body)))
        one = SlotLight(True, Colour.GREEN, Mode.STEADY, 1)
        await eventually(lambda: rig.shows("A-02", one), what="batch EARLY lit")
        # The picker takes the pack from A-02; the recall arrives before the press.
        recall = {"gtin": AMOX, "batch": "EARLY", "note": "supplier notice"}
        centre.publish(f"{PREFIX}/cmd/recall", json.dumps(with_envelope(recall)))
        await eventually(lambda: rig.shows("A-01", one), what="the list moved to batch LATE")
        await rig.press("A-02")
        await eventually(lambda: rig.shows("A-02", RED), what="the recalled pack caught")
        mistakes = await eventually(
            lambda: [r for r in results(centre, "rx-rc") if r["status"] == "mistake"]
        )
        assert mistakes[0]["reason"] == "recalled" and mistakes[0]["slot"] == "A-02"
        assert rig.picks() == []
    finally:
        await stop_rig(rig)
