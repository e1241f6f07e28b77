"""A pack scanned at the picking scanner is judged by the earlier of the expiry printed on it
and the ledger's for its batch: a pack printed with a date that has passed (mislabelled, or
not genuine) is caught at the shelf however late the ledger says its batch expires, and a
printed date that differs is said. The daemon with real peers: pick lists over mosquitto, a
pty GS1 scanner, the Modbus shelf controller's LEDs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from drivers.modbus.lights import SlotLight
from drivers.modbus.profile import Colour, Mode
from edge.demo.local_broker import LocalBroker
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.pick_rig import AMOX, PREFIX, RED, results, scan_code, start_rig, stop_rig


async def test_a_pack_printed_as_expired_is_caught_though_the_ledger_has_its_batch_good(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    rig = await start_rig(tmp_path, broker)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        pick = {"pick_id": "rx-p1", "lines": [{"gtin": AMOX, "quantity": 2}]}
        centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(pick)))
        green = SlotLight(True, Colour.GREEN, Mode.STEADY, 1)
        await eventually(lambda: rig.shows("A-01", green), what="A-01 (batch LATE) lit")
        before = rig.movement_count()

        # The ledger has batch LATE good through 2030-12-31; this pack says 2020-01-01.
        rig.scanner.scan(scan_code(AMOX, "LATE", "200101"))
        await eventually(lambda: rig.shows("A-01", RED), what="the expired pack shown red")
        [mistake] = await eventually(
            lambda: [r for r in results(centre, "rx-p1") if r["status"] == "mistake"],
            what="the mistake reported",
        )
        assert (mistake["reason"], mistake["slot"]) == ("expired", "A-01"), mistake
        seen = str(mistake["seen"])
        assert "printed expiry 2020-01-01, the ledger has 2030-12-31 for batch LATE" in seen
        assert rig.picks() == [] and rig.movement_count() == before, "an expired pack was booked"

        # A pack of LATE printed earlier than the ledger's date but still good: booked with
        # the printed date (the one its patient goes by), and the difference said.
        rig.scanner.scan(scan_code(AMOX, "LATE", "291130"))
        await eventually(lambda: rig.picks() == [("A-01", "LATE", "rx-p1")], what="booked")
        [progress] = await eventually(
            lambda: [r for r in results(centre, "rx-p1") if r["status"] == "progress"],
            what="its progress reported",
        )
        assert progress["expiry"] == "2029-11-30", progress
        said = "printed expiry 2029-11-30, the ledger has 2030-12-31 for batch LATE"
        await eventually(
            lambda: any(said in a.text for a in rig.activity), what="the difference said"
        )
    finally:
        await stop_rig(rig)
