"""Presses made on the shelves while the daemon is not running (a crash, the watchdog, an
upgrade), on the running daemon with real peers (mosquitto, pty scanners and reader, the Modbus
shelf simulator, which runs on through the stop): the controller goes on showing its lights and
counting presses, and the daemon counts them at its start when the controller's heartbeat shows
that it did not restart meanwhile; else none is made up from counters it cannot trust."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from drivers.modbus.profile import Colour
from edge.demo.local_broker import LocalBroker
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.pick_rig import AMOX as PICK_AMOX
from tests.edge.pick_rig import PREFIX as PICK_PREFIX
from tests.edge.pick_rig import Rig, start_rig, statuses
from tests.edge.putaway_rig import AMOX, PutawayRig, code, lit

UP_LONG = 5000  # a controller's heartbeat: up for well over an hour


async def two_to_put_one_put(rig: PutawayRig) -> None:
    """Two packs scanned for A-01, one of them put by its button: A-01 shows green 1. The
    counters read then are kept (before the press is booked) with the heartbeat of a
    controller up for long."""
    await rig.shelf.set_heartbeat(UP_LONG)
    rig.scanner.scan(code(AMOX, "B7", 400))
    rig.scanner.scan(code(AMOX, "B7", 400))
    await eventually(lambda: rig.shows("A-01", lit(Colour.GREEN, 2)), what="two to put")
    await rig.press("A-01")
    await eventually(lambda: len(rig.receipts()) == 1, what="one put")
    await eventually(lambda: rig.shows("A-01", lit(Colour.GREEN, 1)), what="one left")


async def shows_none_waiting(rig: PutawayRig) -> bool:
    return await rig.light("A-01") not in (lit(Colour.GREEN, 1), lit(Colour.GREEN, 2))


def pressed(rig: PutawayRig | Rig) -> list[str]:
    return [a.text for a in rig.activity if a.kind == "button"]


async def test_a_pack_pressed_for_while_the_daemon_was_stopped_is_put_at_its_start(
    tmp_path: Path, broker: LocalBroker
) -> None:
    rig = PutawayRig(tmp_path, broker)
    await rig.start()
    try:
        await two_to_put_one_put(rig)
        await rig.stop_daemon()
        assert await rig.shows("A-01", lit(Colour.GREEN, 1)), "the controller shows on"
        await rig.press("A-01")  # the clerk lays the second pack and presses meanwhile
        await rig.start_daemon()
        await eventually(lambda: len(rig.receipts()) == 2, what="the second pack put")
        assert rig.receipts()[1][:3] == ("A-01", AMOX, "B7")
        await eventually(lambda: shows_none_waiting(rig), what="A-01 lit for none")
        assert pressed(rig) == ["A-01 pressed 1 time(s)", "A-01 pressed 1 time(s)"]
    finally:
        await rig.stop()


@pytest.mark.parametrize(
    "heartbeat",
    [
        pytest.param(0, id="restarted"),  # power-cycled meanwhile: counting from zero again
        pytest.param(40_000, id="replaced"),  # another controller, up for 11 hours
    ],
)
async def test_a_controller_restarted_while_the_daemon_was_stopped_makes_up_no_presses(
    tmp_path: Path, broker: LocalBroker, caplog: pytest.LogCaptureFixture, heartbeat: int
) -> None:
    """Its counters are no longer those kept: whatever they read is counted from, not as
    presses, and the log says why; a press after that puts the pack."""
    rig = PutawayRig(tmp_path, broker)
    await rig.start()
    try:
        await two_to_put_one_put(rig)
        await rig.stop_daemon()
        await rig.shelf.stop()
        await rig.shelf.start()  # blank registers, at the same address
        await rig.shelf.set_heartbeat(heartbeat)
        await rig.shelf.set_counter(0, 3)  # above the 1 kept for A-01
        with caplog.at_level(logging.WARNING, logger="drivers.modbus.between_runs"):
            await rig.start_daemon()
            await rig.lights_written()
            await eventually(lambda: rig.shows("A-01", lit(Colour.GREEN, 1)), what="lit again")
        assert rig.receipts()[1:] == [], "no pack put by counters from another life"
        said = "shelf controller A: presses made while the gateway was not running are not"
        assert f"{said} counted: its heartbeat went on" in caplog.text
        await rig.press("A-01")
        await eventually(lambda: len(rig.receipts()) == 2, what="the next press puts the pack")
    finally:
        await rig.stop()


async def test_a_pick_confirmed_while_the_daemon_was_stopped_is_booked_at_its_start(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    rig = await start_rig(tmp_path, broker)
    try:
        centre = subscribe(f"{PICK_PREFIX}/cmd-result")
        pick = {"pick_id": "rx-7", "lines": [{"gtin": PICK_AMOX, "quantity": 2}], "picker": "Ana"}
        centre.publish(f"{PICK_PREFIX}/cmd/pick", json.dumps(with_envelope(pick)))
        await eventually(lambda: rig.shows("A-02", lit(Colour.GREEN, 1)), what="A-02 lit")
        await eventually(lambda: rig.shows("A-01", lit(Colour.GREEN, 1)), what="A-01 lit")
        await rig.press("A-02")
        await eventually(lambda: rig.picks() == [("A-02", "EARLY", "rx-7")], what="first pick")
        await rig.stop_daemon()
        await rig.press("A-01")  # the picker takes the second pack and confirms meanwhile
        await rig.start_daemon()
        await eventually(lambda: "done" in statuses(centre, "rx-7"), what="the list done")
        assert rig.picks() == [("A-02", "EARLY", "rx-7"), ("A-01", "LATE", "rx-7")]
        assert pressed(rig) == ["A-02 pressed 1 time(s)", "A-01 pressed 1 time(s)"]
    finally:
        await rig.stop()
