"""Once the ledger's disk has room again, the daemon finds so by itself within seconds, even
with nothing to write but presses and scans it could not record (an idle desk): it tries a
small write while it cannot write, as it retries a held change. Then the storage alarm clears
and the red of a press or scan not recorded ends at once (not after `mistake_seconds`): the
slot shows what the ledger booked, so a pharmacist who sees it does not press again for a pack
already booked. Real peers and a real full tmpfs, as in tests/edge/test_unkept_actions.py."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from drivers.modbus.lights import DARK
from edge.daemon.action_journal import ActionJournal
from edge.daemon.gateway import Gateway
from edge.daemon.storage_guard import LAST_RETRY
from edge.demo.local_broker import LocalBroker
from firmware_sim.scanner_sim import GS
from tests.conftest import Subscriber, eventually
from tests.edge.pick_rig import PREFIX, RED, stop_rig
from tests.edge.receiving_desk import receiving_desk
from tests.edge.test_disk_full import (  # noqa: F401  (small_disk: a fixture)
    GTIN,
    STORAGE_ALARM,
    fill,
    gateway_config,
    received,
    running,
    small_disk,
)
from tests.edge.test_unkept_actions import (
    green,
    lit_for_two,
    room_for_one_press_rig,
    shows,
)

# Long enough that a red ending within a few seconds of the disk's return ended for that.
MISTAKE_SECONDS = 60.0
SEEN_WITHIN = LAST_RETRY + 5  # the longest wait between two tries, and the write itself
GREEN = 0  # the first picker colour's number


def storage_working(gateway: Gateway) -> Callable[[], bool]:
    return lambda: not gateway.ledger.storage_failing


async def test_a_press_not_recorded_stops_showing_red_once_the_disk_is_written_again(
    small_disk: Path,  # noqa: F811
    tmp_path: Path,
    broker: LocalBroker,
    subscribe: Callable[..., Subscriber],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A-01 shows 2; the disk fills, a first press is kept (1 shown), a second is not (red).
    Once the disk has room, the first is booked and A-01 shows 1 at once, not red for the rest
    of `mistake_seconds`: the pharmacist presses once more for the second pack taken, and two
    packs are booked for the two taken."""
    rig = await room_for_one_press_rig(tmp_path, small_disk, broker, monkeypatch, MISTAKE_SECONDS)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        gateway = rig.gateway
        assert gateway is not None
        await lit_for_two(rig, centre)
        filler = fill(small_disk)
        await rig.press("A-01")
        await eventually(lambda: rig.shows("A-01", green(1)), what="kept: answered as booked")
        await rig.press("A-01")
        await eventually(lambda: rig.shows("A-01", RED), what="red: not recorded")
        assert gateway.counters["actions_not_recorded"] == 1
        filler.unlink()
        await eventually(storage_working(gateway), timeout=SEEN_WITHIN, what="writing works")
        await eventually(
            lambda: rig.shows("A-01", green(1)), timeout=2, what="the red ended with the outage"
        )
        await eventually(lambda: rig.picks() == [("A-01", "LATE", "rx-1")], what="kept: booked")
        await rig.handed_over("A-01", GREEN)
        await rig.press("A-01")  # the press not recorded, done again
        await eventually(lambda: rig.shows("A-01", DARK), what="the second pack booked")
        assert rig.picks() == [("A-01", "LATE", "rx-1")] * 2
    finally:
        await stop_rig(rig)


async def test_an_idle_desk_sees_the_disk_freed_within_seconds_and_books_the_next_scan(
    tmp_path: Path,
    small_disk: Path,  # noqa: F811
    broker: LocalBroker,
    subscribe: Callable[..., Subscriber],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A receiving desk with no room kept for actions, and nothing else to write: its scan on
    the full disk blinks red. Once the disk has room the storage alarm clears within seconds,
    the red ends then, and the next scan is booked, not red again."""
    monkeypatch.setattr("edge.daemon.gateway.ActionJournal", partial(ActionJournal, size=16))
    db = small_disk / "ledger.sqlite"
    rig = await receiving_desk(tmp_path, db, broker, picking={"mistake_seconds": MISTAKE_SECONDS})
    shelf, scanner, config = rig.shelf, rig.scanner, rig.config
    centre = subscribe(f"{PREFIX}/alarms/#")
    filler: Path | None = None
    try:
        async with running(Gateway(config)) as gateway:
            before = await shelf.light(1)
            filler = fill(small_disk)
            scanner.scan(f"01{GTIN}17271231" + "10B7" + GS + "21SN1")
            await eventually(partial(shows, shelf, RED), what="red at the desk's slot")
            assert gateway.ledger.storage_failing
            filler.unlink()
            filler = None
            await eventually(storage_working(gateway), timeout=SEEN_WITHIN, what="writing works")
            await eventually(
                partial(shows, shelf, before), timeout=2, what="the red ended with the outage"
            )
            await eventually(
                lambda: b"" in [m.payload for m in centre.drain() if m.topic == STORAGE_ALARM],
                what="the storage alarm cleared at the broker",
            )
            scanner.scan(f"01{GTIN}17271231" + "10B7" + GS + "21SN2")
            await eventually(
                lambda: received(db) == [(GTIN, "B7", "SN2", "A-02")], what="the next scan booked"
            )
            assert not await shows(shelf, RED)
            assert gateway.counters["actions_not_recorded"] == 1
    finally:
        if filler is not None:
            filler.unlink(missing_ok=True)
        await rig.stop()
