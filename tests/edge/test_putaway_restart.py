"""A put-away session across a power cut on the running daemon with real peers (mosquitto, pty
scanners, the Modbus shelf simulator): the time the daemon was not running is no clerk's idle
time, so a session is neither reminded nor closed at the restart, its slot lights steady again
and a press there books the pack."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from drivers.modbus.profile import Colour
from edge.demo.local_broker import LocalBroker
from tests.conftest import Subscriber, eventually
from tests.edge.putaway_rig import AMOX, PREFIX, PutawayRig, code, lit


def answers(centre: Subscriber, status: str) -> list[dict[str, object]]:
    return [
        r
        for r in centre.payloads("/cmd-result")
        if r.get("command") == "putaway" and r["status"] == status
    ]


async def test_a_session_carries_on_after_a_power_cut_longer_than_its_timeout(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    """The daemon is off for five minutes, more than twice the session's timeout (120 s)."""
    rig = PutawayRig(tmp_path, broker)
    await rig.start()
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        rig.scanner.scan(code(AMOX, "B7", 400))
        rig.scanner.scan(code(AMOX, "B7", 400))
        await eventually(lambda: rig.shows("A-01", lit(Colour.GREEN, 2)), what="two to put")
        await rig.press("A-01")
        await eventually(lambda: rig.shows("A-01", lit(Colour.GREEN, 1)), what="one put")
        await rig.after_power_cut(300.0)  # the wall clock five minutes on when it comes back
        assert await rig.shows("A-01", lit(Colour.GREEN, 1)), "lit steady, not reminded"
        assert answers(centre, "closed") == []
        await rig.press("A-01")
        await eventually(lambda: len(rig.receipts()) == 2, what="the second pack put")
        assert answers(centre, "closed") == []
    finally:
        await rig.stop()
