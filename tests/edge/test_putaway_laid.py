"""A refused pack laid on a shelf all the same, on the running daemon with real peers
(mosquitto, a pty GS1 scanner, the pty R2000 reader whose antenna 1 watches A-03, the Modbus
shelf simulator): its tag seen there books it quarantined with the batch and expiry scanned,
A-03 blinks red, then slowly red while the alarm that says so lives."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from edge.demo.local_broker import LocalBroker
from edge.lights.light_plan import HELD_LIGHT
from tests.clocks import PassingClock
from tests.conftest import Subscriber, eventually
from tests.edge.putaway_rig import PARA, PREFIX, RED, PutawayRig, code, para_tag


async def test_an_expired_pack_laid_on_a_watched_slot_is_held_there_and_alarmed(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    clock = PassingClock()
    rig = PutawayRig(tmp_path, broker)
    await rig.start(clock)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result", f"{PREFIX}/alarms/+")
        rig.scanner.scan(code(PARA, "P9", -3, serial="41"))  # expired three days ago
        await eventually(
            lambda: any(r.get("reason") == "expired" for r in centre.payloads("/cmd-result")),
            what="refused at the desk",
        )
        rig.reader.place(1, para_tag(41))  # laid in A-03 all the same
        await eventually(lambda: rig.shows("A-03", RED), what="red where it lies")
        [alarm] = await eventually(
            lambda: [
                a
                for a in (json.loads(m.payload) for m in centre.drain() if m.payload)
                if a.get("kind") == "refused_pack" and a["detail"].get("on_shelf")
            ],
            what="the refused_pack alarm naming the slot",
        )
        assert (alarm["detail"]["slot"], alarm["detail"]["serial"]) == ("A-03", "41")
        with sqlite3.connect(rig.db) as db:
            held = db.execute(
                "SELECT kind, to_slot, batch, expiry IS NOT NULL, to_status FROM movements"
                " WHERE serial = '41'"
            ).fetchall()
        assert held == [("put_away", "A-03", "P9", 1, "quarantined")]
        clock.pass_time(30)  # the mistake's red has run its time: the alarm's light stays
        await eventually(lambda: rig.shows("A-03", HELD_LIGHT), what="slow red while alarmed")
    finally:
        await rig.stop()
