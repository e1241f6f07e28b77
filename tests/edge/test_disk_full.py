"""The ledger's file system fills up under the running daemon (a real size-capped tmpfs the test
mounts): the storage alarm reaches the centre, the readers and the shelf bus keep going, and
once space returns every change held is written, nothing lost, and the alarm is cleared. A
command that arrives meanwhile is not acknowledged to the broker until it is written: a daemon
stopped before then gets it again when it comes back. A read-only ledger is the same path:
SQLite's own read-only error is recognised as one."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from drivers.modbus.lights import DARK, SlotLight
from drivers.modbus.profile import Colour, Mode
from edge.cli.status import problems, summarise
from edge.daemon.action_journal import journal_path
from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker
from edge.service.metrics_scrape import scrape
from firmware_sim.r2000_sim import R2000Simulator
from firmware_sim.scanner_sim import GS
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator
from firmware_sim.tags import sgtin96
from inventory.errors import is_storage_failure
from inventory.ledger.verify import verify
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually, retained_at, scanners_open, subscribed
from tests.edge.pick_rig import AMOX, start_rig, stop_rig
from tests.edge.receiving_desk import GTIN, gateway_config, receiving_desk

PREFIX = "rxedge/v1/s1/g1"
STORAGE_ALARM = f"{PREFIX}/alarms/storage-ledger"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB tmpfs of the test's own."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); needs root")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Take every free byte of `disk`."""
    filler = disk / "filler"
    with contextlib.suppress(OSError), open(filler, "wb", buffering=0) as f:
        while True:
            f.write(b"\0" * 65536)
    return filler


def put_aways(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return int(
            conn.execute("SELECT count(*) FROM movements WHERE kind = 'put_away'").fetchone()[0]
        )


def recalls(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return [tuple(r) for r in conn.execute("SELECT gtin, batch FROM recalls")]


@pytest.fixture
async def daemon(
    tmp_path: Path, small_disk: Path, broker: LocalBroker
) -> AsyncIterator[tuple[Gateway, R2000Simulator, Path]]:
    reader = R2000Simulator(link=tmp_path / "reader")
    shelf = ShelfControllerSimulator(slots=4)
    await reader.start()
    await shelf.start()
    db = small_disk / "ledger.sqlite"
    gateway = Gateway(gateway_config(db, broker, reader.port, shelf.port))
    task = asyncio.create_task(gateway.run())
    await eventually(gateway.ready.is_set)
    yield gateway, reader, db
    gateway.stop()
    await asyncio.wait_for(task, 15)
    await reader.stop()
    await shelf.stop()


async def test_a_full_disk_holds_changes_and_loses_nothing(
    daemon: tuple[Gateway, R2000Simulator, Path],
    small_disk: Path,
    subscribe: Callable[..., Subscriber],
) -> None:
    gateway, reader, db = daemon
    centre = subscribe(f"{PREFIX}/alarms/#")

    def storage_alarm() -> list[bytes]:
        return [m.payload for m in centre.drain() if m.topic == STORAGE_ALARM]

    reader.place(1, sgtin96("4012345", "012345", 1))
    await eventually(lambda: put_aways(db) == 1, what="first pack booked")
    filler = fill(small_disk)
    for n in range(2, 6):
        reader.place(1, sgtin96("4012345", "012345", n))
    raised = await eventually(storage_alarm, what="storage alarm at the broker")
    assert json.loads(raised[0])["kind"] == "storage"
    reads, cycles = gateway.counters["tag_reads"], gateway.devices.buses[0].cycles
    await eventually(
        lambda: (
            gateway.counters["tag_reads"] > reads + 20
            and gateway.devices.buses[0].cycles > cycles + 5
        ),
        what="readers and shelf bus still served",
    )
    assert put_aways(db) == 1, "nothing written while the disk is full"
    filler.unlink()
    await eventually(lambda: put_aways(db) == 5, timeout=20, what="held changes written")
    await eventually(lambda: b"" in storage_alarm(), timeout=10, what="alarm cleared")

    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        assert verify(conn).ok


async def test_a_command_is_acknowledged_only_once_written(
    tmp_path: Path, small_disk: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    reader = R2000Simulator(link=tmp_path / "reader")
    shelf = ShelfControllerSimulator(slots=4)
    await reader.start()
    await shelf.start()
    db = small_disk / "ledger.sqlite"
    config = gateway_config(db, broker, reader.port, shelf.port)
    centre = subscribe(f"{PREFIX}/alarms/#", f"{PREFIX}/cmd-result")
    try:
        gateway = Gateway(config)
        task = asyncio.create_task(gateway.run())
        await eventually(gateway.ready.is_set)
        filler = fill(small_disk)
        reader.place(1, sgtin96("4012345", "012345", 1))  # a change the full disk holds back
        await eventually(
            lambda: any(m.topic == STORAGE_ALARM for m in centre.drain()), what="storage alarm"
        )
        recall = {"gtin": GTIN, "batch": "B7", "note": "supplier notice", "by": "QA"}
        centre.publish(f"{PREFIX}/cmd/recall", json.dumps(with_envelope(recall)))
        await eventually(lambda: gateway.counters["commands"] == 1, what="the command received")
        gateway.stop()  # as a restart would, before the command could be written
        await asyncio.wait_for(task, 15)
        filler.unlink()
        assert recalls(db) == [] and centre.payloads("/cmd-result") == []
        again = Gateway(config)  # the same client id: the broker's session, kept
        task = asyncio.create_task(again.run())
        try:
            await eventually(lambda: recalls(db) == [(GTIN, "B7")], timeout=20, what="recall")
            answers = await eventually(lambda: centre.payloads("/cmd-result"))
            assert [(a["command"], a["status"]) for a in answers] == [("recall", "recalled")]
        finally:
            again.stop()
            await asyncio.wait_for(task, 15)
    finally:
        await reader.stop()
        await shelf.stop()


async def test_a_storage_alarm_left_by_a_stop_while_the_disk_was_full_clears_at_the_next_start(
    tmp_path: Path, small_disk: Path, broker: LocalBroker
) -> None:
    """Never written, only told the broker: the next run records it (raised, cleared)."""
    reader, shelf = R2000Simulator(link=tmp_path / "reader"), ShelfControllerSimulator(slots=4)
    await reader.start()
    await shelf.start()
    db = small_disk / "ledger.sqlite"
    config = gateway_config(db, broker, reader.port, shelf.port)
    try:
        async with running(Gateway(config)) as gateway:
            await subscribed(gateway)
            filler = fill(small_disk)
            reader.place(1, sgtin96("4012345", "012345", 1))  # a change the full disk holds
            await eventually(lambda: STORAGE_ALARM in held(broker), what="raised at the broker")
        filler.unlink()  # the disk has room again, the daemon stopped meanwhile
        assert storage_alarms(db) == [], "the outage was never written"
        async with running(Gateway(config)):
            await eventually(lambda: STORAGE_ALARM not in held(broker), timeout=20, what="clear")
        assert storage_alarms(db) == [("raised", "cleared")]
    finally:
        await reader.stop()
        await shelf.stop()


def held(broker: LocalBroker) -> dict[str, bytes]:
    return retained_at(broker.port, f"{PREFIX}/alarms/+")


def storage_alarms(db: Path) -> list[tuple[str, str]]:
    """The storage alarm's states in the ledger: as raised (its outbox message), and now."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        now = conn.execute("SELECT state FROM alarms WHERE id = 'storage-ledger'").fetchall()
        told = conn.execute("SELECT payload FROM outbox WHERE key = 'storage-ledger'").fetchall()
    return [(json.loads(t[0])["state"], n[0]) for t, n in zip(told[:1], now, strict=True)]


def test_sqlite_storage_errors_are_told_from_refused_changes(tmp_path: Path) -> None:
    db = tmp_path / "l.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (x INTEGER PRIMARY KEY)")
    read_only = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as caught:
        read_only.execute("INSERT INTO t VALUES (1)")
    assert is_storage_failure(caught.value)
    writable = sqlite3.connect(db)
    writable.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.IntegrityError) as duplicate:
        writable.execute("INSERT INTO t VALUES (1)")
    assert not is_storage_failure(duplicate.value)
    with pytest.raises(sqlite3.OperationalError) as wrong:
        writable.execute("SELECT nothing FROM t")
    assert not is_storage_failure(wrong.value)


async def test_a_press_while_the_disk_is_full_is_answered_at_once_and_booked_once(
    small_disk: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    """A picker presses while the ledger cannot be written: the slot's number goes down at
    once, as if booked (dark at none left), so nobody presses again; once space returns each
    press is booked once and the lights follow the ledger. Meanwhile `rxedge status` (and the
    page's Health) tells of the storage alarm, which the ledger cannot hold yet."""
    metrics = {"listen": "127.0.0.1:0", "refresh_seconds": 0.1}
    rig = await start_rig(small_disk, broker, metrics=metrics)
    try:
        centre = subscribe(f"{PREFIX}/alarms/#")
        assert rig.gateway is not None
        await subscribed(rig.gateway)
        pick = {"pick_id": "rx-1", "lines": [{"gtin": AMOX, "quantity": 3}], "picker": "Ana"}
        centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(pick)))
        # First expiry first: A-02's one pack, then two of A-01's.
        await eventually(lambda: rig.shows("A-01", green(2)), what="A-01 lit for 2")
        await eventually(lambda: rig.shows("A-02", green(1)), what="A-02 lit for 1")
        filler = fill(small_disk)
        await rig.press("A-01")  # the press that finds the disk full
        await eventually(lambda: rig.shows("A-01", green(1)), what="answered as if booked")

        def storage_alarm() -> list[bytes]:  # its messages at the centre
            return [m.payload for m in centre.drain() if m.topic == STORAGE_ALARM]

        await eventually(storage_alarm, what="storage alarm")
        await rig.press("A-01")
        await eventually(lambda: rig.shows("A-01", DARK), what="none left there: dark")
        assert await rig.shows("A-02", green(1)), "a slot not pressed shows what it did"
        # The lights' questions answered meanwhile (the pick clock's) are no sign of recovery.
        await eventually(
            lambda: rig.gateway and rig.gateway.counters["storage_failures"] >= 4,
            timeout=20,
            what="writes retried a while",
        )
        assert rig.picks() == [], "nothing written while the disk is full"
        assert len(storage_alarm()) == 1, "raised once, not again at every question answered"
        url = rig.gateway.metrics.url
        assert url is not None
        report = summarise(await asyncio.to_thread(scrape, url), None, url)
        assert "storage alarm: the ledger file is damaged or cannot be written" in problems(report)
        filler.unlink()
        await eventually(lambda: len(rig.picks()) == 2, timeout=20, what="both presses booked")
        assert [slot for slot, _batch, _list in rig.picks()] == ["A-01", "A-01"]
        await eventually(lambda: rig.shows("A-02", green(1)), what="the list goes on")
        assert await rig.shows("A-01", DARK), "each press booked once: A-01 is done"
        await eventually(lambda: b"" in storage_alarm(), what="the alarm cleared")
        # Raised straight to the broker once; then its record written, with its clear.
        assert [json.loads(m)["state"] if m else "" for m in storage_alarm()] == [
            "raised",
            "raised",
            "",
        ]
    finally:
        await stop_rig(rig)


def green(number: int) -> SlotLight:
    return SlotLight(True, Colour.GREEN, Mode.STEADY, number)


async def test_a_press_held_through_a_restart_is_booked_once(
    small_disk: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    """The daemon stops (restarted by the operator, or a power cut) while the disk is full and
    a press the shelf answered is held: the press, kept on disk in the room reserved for it, is
    booked at the next start. A start that finds a kept press the ledger had booked already (a
    stop between the booking and the emptying of the file) does not book it again."""
    rig = await start_rig(small_disk, broker)
    try:
        centre = subscribe(f"{PREFIX}/alarms/#")
        assert rig.gateway is not None
        pick = {"pick_id": "rx-1", "lines": [{"gtin": AMOX, "quantity": 3}], "picker": "Ana"}
        centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(pick)))
        await eventually(lambda: rig.shows("A-01", green(2)), what="A-01 lit for 2")
        filler = fill(small_disk)
        await rig.press("A-01")
        await eventually(lambda: rig.shows("A-01", green(1)), what="answered as if booked")
        actions = journal_path(rig.db)
        kept = actions.read_bytes().rstrip(b"\0")
        assert json.loads(kept)["slot"] == "A-01", "kept on the full disk"
        await rig.stop_daemon()
        assert rig.picks() == [], "not written before the stop"
        filler.unlink()

        await rig.start_daemon()
        await eventually(lambda: len(rig.picks()) == 1, timeout=20, what="the kept press booked")
        await eventually(lambda: rig.shows("A-01", green(1)), what="the shelf as it was left")
        await eventually(lambda: not actions.read_bytes().strip(b"\0"), what="the file emptied")

        await rig.stop_daemon()
        actions.write_bytes(kept)  # as a stop just after the booking would leave it
        await rig.start_daemon()
        await eventually(lambda: not actions.read_bytes().strip(b"\0"), what="the file emptied")
        assert len(rig.picks()) == 1, "booked once"
        await eventually(lambda: rig.shows("A-01", green(1)), what="the shelf as it was left")
    finally:
        await stop_rig(rig)


async def test_a_scan_held_through_a_restart_is_booked_once(
    tmp_path: Path, small_disk: Path, broker: LocalBroker
) -> None:
    """A pack scanned in at the receiving desk while the disk is full, and the daemon stopped
    before the disk had room: the scan, kept on disk, books the pack at the next start."""
    db = small_disk / "ledger.sqlite"
    rig = await receiving_desk(tmp_path, db, broker)
    scanner, config = rig.scanner, rig.config
    filler: Path | None = None
    try:
        async with running(Gateway(config)) as gateway:
            filler = fill(small_disk)
            scanner.scan(f"01{GTIN}17271231" + "10B7" + GS + "21SN1")
            await eventually(lambda: gateway.counters["storage_failures"], what="the scan held")
            assert b'"kind":"receive-scan"' in journal_path(db).read_bytes()
        filler.unlink()
        assert received(db) == []
        async with running(Gateway(config)):
            await eventually(lambda: received(db) == [(GTIN, "B7", "SN1", "A-02")], timeout=20)
            await eventually(lambda: not journal_path(db).read_bytes().strip(b"\0"))
    finally:
        if filler is not None:
            filler.unlink(missing_ok=True)
        await rig.stop()


@contextlib.asynccontextmanager
async def running(gateway: Gateway) -> AsyncIterator[Gateway]:
    task = asyncio.create_task(gateway.run())
    try:
        await eventually(gateway.ready.is_set)
        await scanners_open(gateway)
        yield gateway
    finally:
        gateway.stop()
        await asyncio.wait_for(task, 15)


def received(db: Path) -> list[tuple[str, str, str, str]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT gtin, batch, serial, to_slot FROM movements WHERE kind = 'receive'"
        )
        return [tuple(r) for r in rows]
