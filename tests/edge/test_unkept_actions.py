"""A press or scan the daemon can keep neither in the ledger nor in its action file (the disk
full and the file's room used up, or a file system gone read-only: a worn SD card) is not
answered as booked: its slot blinks red as for a mistake, for `picking.mistake_seconds`, and
shows what it did before; nothing is booked for it once the disk works again, nor after a
restart, so a press repeated then books one pack. A press the file could keep is answered and
booked as before. Real peers; a real full tmpfs, as in tests/edge/test_disk_full.py, and a
real ext4 file system on a loop device that an error turns read-only."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import subprocess
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest

from drivers.modbus.lights import SlotLight
from drivers.modbus.profile import Colour, Mode
from edge.clock import Clock
from edge.daemon.action_journal import ActionJournal
from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker
from firmware_sim.scanner_sim import GS
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator
from inventory.changes import Change, ConfirmButton, ExpirySweep, PickTick
from inventory.errors import LedgerUnavailable
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.pick_rig import AMOX, PREFIX, RED, Rig, start_rig, stop_rig
from tests.edge.receiving_desk import receiving_desk
from tests.edge.test_disk_full import (  # noqa: F401  (small_disk: a fixture)
    GTIN,
    fill,
    gateway_config,
    received,
    running,
    small_disk,
)
from tests.edge.test_ledger_link import made

MISTAKE_SECONDS = 2.0


@pytest.fixture
def ext4_disk(tmp_path: Path) -> Iterator[Path]:
    """A 32 MB ext4 file system of the test's own on a loop device, mounted to go read-only at
    its first error (`errors=remount-ro`, as a Raspberry Pi's root file system is)."""
    image, mount = tmp_path / "sd.img", tmp_path / "sd"
    mount.mkdir()
    with open(image, "wb") as f:
        f.truncate(32 * 1024 * 1024)
    for command in (
        ["mkfs.ext4", "-q", "-F", str(image)],
        ["mount", "-o", "loop,errors=remount-ro", str(image), str(mount)],
    ):
        try:
            done = subprocess.run(command, capture_output=True, text=True, check=False)
        except FileNotFoundError as exc:
            pytest.skip(f"cannot make an ext4 file system here ({exc})")
        if done.returncode != 0:
            pytest.skip(f"cannot {command[0]} here ({done.stderr.strip()}); needs root, loop")
    try:
        yield mount
    finally:
        gc.collect()  # the test's own read connections to the ledger, closed
        subprocess.run(["umount", "-l", str(mount)], check=False)


def device_of(mount: Path) -> str:
    source = subprocess.run(
        ["findmnt", "-no", "SOURCE", str(mount)], capture_output=True, text=True, check=True
    )
    return Path(source.stdout.strip()).name


def turn_read_only(mount: Path) -> None:
    """An error on the file system at `mount`, as a failing card gives: read-only at once."""
    (Path("/sys/fs/ext4") / device_of(mount) / "trigger_fs_error").write_text("1")
    with pytest.raises(OSError):
        (mount / "probe").write_bytes(b"")


def repaired(mount: Path) -> None:
    """Unmounted, checked and repaired (`e2fsck -fy`, as at the next boot), mounted again."""
    image = mount.with_name("sd.img")
    subprocess.run(["umount", str(mount)], check=True)
    subprocess.run(["e2fsck", "-fy", str(image)], capture_output=True, check=False)
    options = "loop,errors=remount-ro"
    subprocess.run(["mount", "-o", options, str(image), str(mount)], check=True)


def room_for_one_press(tmp_path: Path) -> int:
    """An action file's room that holds one press and not two."""
    probe = ActionJournal(tmp_path / "probe.actions", Clock())
    probe.open()
    probe.keep(ConfirmButton("A-01", 1, 0))
    probe.close()
    one = len((tmp_path / "probe.actions").read_bytes().rstrip(b"\0"))
    return one + one // 2


def green(number: int) -> SlotLight:
    return SlotLight(True, Colour.GREEN, Mode.STEADY, number)


async def shows(shelf: ShelfControllerSimulator, light: SlotLight) -> bool:
    """Whether A-02 (the receiving desk's slot) shows `light`."""
    return await shelf.light(1) == light


async def all_handled(gateway: Gateway | None) -> None:
    """Every change queued so far written or passed over."""
    assert gateway is not None
    await gateway.ledger.carried_out(PickTick())


async def room_for_one_press_rig(
    tmp_path: Path, disk: Path, broker: LocalBroker, monkeypatch: pytest.MonkeyPatch, red: float
) -> Rig:
    """The pick rig with its ledger on `disk` and an action file with room for one press
    (`red`: picking.mistake_seconds)."""
    room = room_for_one_press(tmp_path)
    monkeypatch.setattr("edge.daemon.gateway.ActionJournal", partial(ActionJournal, size=room))
    picking = {"remind_after_seconds": 30, "timeout_seconds": 600, "mistake_seconds": red}
    return await start_rig(disk, broker, picking=picking)


async def lit_for_two(rig: Rig, centre: Subscriber) -> None:
    """Ana's pick list of 3 packs sent as the centre sends it: A-01 lit for its 2."""
    pick = {"pick_id": "rx-1", "lines": [{"gtin": AMOX, "quantity": 3}], "picker": "Ana"}
    centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(pick)))
    await eventually(lambda: rig.shows("A-01", green(2)), what="A-01 lit for 2")


async def test_a_press_the_full_action_file_cannot_keep_blinks_red_and_is_never_booked(
    small_disk: Path,  # noqa: F811
    tmp_path: Path,
    broker: LocalBroker,
    subscribe: Callable[..., Subscriber],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rig = await room_for_one_press_rig(tmp_path, small_disk, broker, monkeypatch, MISTAKE_SECONDS)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        assert rig.gateway is not None
        await lit_for_two(rig, centre)
        filler = fill(small_disk)
        await rig.press("A-01")  # kept in the file's room: answered as booked, as before
        await eventually(lambda: rig.shows("A-01", green(1)), what="answered as if booked")
        with caplog.at_level(logging.WARNING):
            for n in range(1, 3):  # the room is used up: neither can be kept
                await rig.press("A-01")
                await eventually(lambda: rig.shows("A-01", RED), what="red: not recorded")
                await eventually(
                    lambda: rig.shows("A-01", green(1)),
                    timeout=MISTAKE_SECONDS + 5,
                    what="back as it was, the number unchanged",
                )
                assert rig.gateway.counters["actions_not_recorded"] == n
        assert any(
            "A-01" in r.getMessage() and "not recorded" in r.getMessage()
            for r in caplog.records
            if r.levelno == logging.WARNING
        ), "a warning names the slot"
        assert rig.picks() == [], "nothing written while the disk is full"
        filler.unlink()
        await eventually(lambda: rig.picks(), timeout=20, what="the kept press booked")
        await all_handled(rig.gateway)
        assert rig.picks() == [("A-01", "LATE", "rx-1")], "the presses not recorded: not booked"
        assert await rig.shows("A-01", green(1))

        await rig.stop_daemon()
        await rig.start_daemon()
        await all_handled(rig.gateway)
        assert len(rig.picks()) == 1, "nor after a restart"
        await rig.lights_written()
        assert await rig.shows("A-01", green(1)), "the shelf as it was left"
        await rig.press("A-01")  # pressed again once the alarm cleared: one pack
        await eventually(lambda: len(rig.picks()) == 2, what="booked")
        await all_handled(rig.gateway)
        assert len(rig.picks()) == 2
    finally:
        await stop_rig(rig)


async def test_a_scan_the_action_file_cannot_keep_blinks_red_at_its_desk_and_is_never_booked(
    tmp_path: Path,
    small_disk: Path,  # noqa: F811
    broker: LocalBroker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("edge.daemon.gateway.ActionJournal", partial(ActionJournal, size=16))
    db = small_disk / "ledger.sqlite"
    rig = await receiving_desk(tmp_path, db, broker, picking={"mistake_seconds": MISTAKE_SECONDS})
    shelf, scanner, config = rig.shelf, rig.scanner, rig.config
    filler: Path | None = None
    try:
        async with running(Gateway(config)) as gateway:
            before = await shelf.light(1)
            filler = fill(small_disk)
            scanner.scan(f"01{GTIN}17271231" + "10B7" + GS + "21SN1")
            await eventually(partial(shows, shelf, RED), what="red at the desk's slot")
            assert gateway.counters["actions_not_recorded"] == 1
            await eventually(
                partial(shows, shelf, before), timeout=MISTAKE_SECONDS + 5, what="as before"
            )
            filler.unlink()
            filler = None
            await all_handled(gateway)
            assert received(db) == [], "not booked once the disk works again"
        async with running(Gateway(config)) as gateway:
            await all_handled(gateway)
            assert received(db) == [], "nor after a restart"
    finally:
        if filler is not None:
            filler.unlink(missing_ok=True)
        await rig.stop()


async def test_presses_on_a_file_system_gone_read_only_blink_red_and_are_not_booked_after_repair(
    ext4_disk: Path,
    tmp_path: Path,
    broker: LocalBroker,
    subscribe: Callable[..., Subscriber],
) -> None:
    """The ledger's file system turns read-only under the running daemon: three presses at a
    slot showing 2 leave it at 2 (red each time), and after the repair and a restart nothing is
    booked for them: the slot still asks for 2, and a press then books one."""
    rig = Rig(tmp_path, broker)  # the peers' links off the card: only the ledger is on it
    rig.db = ext4_disk / "ledger.sqlite"
    picking = {"remind_after_seconds": 30, "timeout_seconds": 600}
    await rig.start(picking={**picking, "mistake_seconds": MISTAKE_SECONDS})
    try:
        await eventually(rig.expired_held, what="the expiry sweep at start")
        centre = subscribe(f"{PREFIX}/cmd-result")
        assert rig.gateway is not None
        await lit_for_two(rig, centre)
        turn_read_only(ext4_disk)
        for n in range(1, 4):
            await rig.press("A-01")
            await eventually(lambda: rig.shows("A-01", RED), what="red: not recorded")
            assert rig.gateway.counters["actions_not_recorded"] == n
            await eventually(
                lambda: rig.shows("A-01", green(2)),
                timeout=MISTAKE_SECONDS + 5,
                what="back as it was, the number unchanged",
            )
        await rig.stop_daemon()
        repaired(ext4_disk)
        await rig.start_daemon()
        await all_handled(rig.gateway)
        assert rig.picks() == [], "nothing booked for the presses not recorded"
        await rig.lights_written()
        assert await rig.shows("A-01", green(2)), "the slot still asks for 2"
        await rig.press("A-01")
        await eventually(lambda: rig.shows("A-01", green(1)), what="pressed again: booked")
        assert rig.picks() == [("A-01", "LATE", "rx-1")]
    finally:
        await stop_rig(rig)


async def test_a_press_the_action_file_cannot_keep_is_not_held_and_never_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first write of a group fails and the file has no room for its press: the press is
    not held (the shelf is told it was not recorded), the rest of the group is written once
    the disk works, the press never, and every change queued counts as handled."""
    found = await made(tmp_path)
    ledger = found.link
    journal = ActionJournal(tmp_path / "l.sqlite.actions", Clock(), size=16)
    journal.open()
    ledger.actions = journal
    held: list[Change] = []
    unkept: list[Change] = []
    ledger.on_held = lambda change: (
        held.append(change) if isinstance(change, ConfirmButton) else None
    )  # type: ignore[func-returns-value]
    ledger.on_unkept = unkept.append
    real_apply = ledger._apply
    attempts: list[list[Change]] = []
    full = {"disk": True}

    async def apply(changes: list[Change]) -> list[object]:
        attempts.append(list(changes))
        if full["disk"]:
            raise LedgerUnavailable("database or disk is full")
        return await real_apply(changes)  # type: ignore[return-value]

    monkeypatch.setattr(ledger, "_apply", apply)
    press, sweep = ConfirmButton("A-01", 1, 0), ExpirySweep(30)
    assert ledger.offer(press) and ledger.offer(sweep)
    applying = asyncio.create_task(ledger.apply_changes())
    try:
        await eventually(lambda: unkept == [press], what="told it was not recorded")
        await eventually(lambda: len(attempts) >= 2, timeout=15, what="a retry")
        full["disk"] = False
        await asyncio.wait_for(ledger.carried_out(PickTick()), 15)
    finally:
        applying.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await applying
        await ledger.close()
    first, *retries = attempts
    assert first == [press, sweep], "tried once, bare: the disk was not known full"
    assert retries and all(press not in a for a in retries), "never tried again"
    assert [sweep] in retries, "the rest of its group tried again, alone"
    assert held == [] and found.counters["actions_not_recorded"] == 1
