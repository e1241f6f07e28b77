"""A stocktake sweep on the running daemon: a Chafon handheld simulator on a pty passes along
shelf A (location tags, then packs), the report names every difference exactly, the
discrepancy alarm reaches the centre and is cleared once a pharmacist confirms, and the ledger
then holds what the shelf holds."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from edge.daemon.activity import Activity
from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker
from edge.settings.config import parse_config
from firmware_sim.chafon_sim import ChafonSimulator
from firmware_sim.tags import sgln96, sgtin96
from firmware_sim.virtual_badge import VirtualBadge
from inventory.codes.identifiers import EpcDecoder, PackId
from inventory.keeper import InventoryKeeper
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.epcis_schema import epcis_problems

PREFIX = "rxedge/v1/s1/g1"
BADGE = bytes.fromhex("04A1B2C3D4E5F6")
GLN_PREFIX, GLN_REF = "4012345", "00001"  # GLN 4012345000016


def tag(n: int) -> bytes:
    return sgtin96("4012345", "012345", n)


def pack(n: int) -> PackId:
    found = EpcDecoder().decode(tag(n))
    assert isinstance(found, PackId)
    return found


def location(slot_number: int) -> bytes:
    return sgln96(GLN_PREFIX, GLN_REF, slot_number)


@pytest.fixture
async def daemon(
    tmp_path: Path, broker: LocalBroker
) -> AsyncIterator[tuple[Gateway, ChafonSimulator, Path]]:
    async with running_daemon(tmp_path, broker, {}) as started:
        yield started


@pytest.fixture
async def badged_daemon(
    tmp_path: Path, broker: LocalBroker, pcscd: None
) -> AsyncIterator[tuple[Gateway, ChafonSimulator, Path]]:
    badges = {
        "badges": {"enabled": True, "reader": "Virtual PCD 00 00"},
        "pharmacists": [{"name": "Dr. Ana Ruiz", "badge": BADGE.hex().upper()}],
    }
    async with running_daemon(tmp_path, broker, badges) as started:
        yield started


@contextlib.asynccontextmanager
async def running_daemon(
    tmp_path: Path,
    broker: LocalBroker,
    extra: dict[str, object],
    stock: dict[int, str] | None = None,
    activity: list[Activity] | None = None,
) -> AsyncIterator[tuple[Gateway, ChafonSimulator, Path]]:
    """The daemon with shelf A (unless `extra` names the shelves) and a handheld; the ledger
    holds packs 1 and 2 in A-01, 3 in A-02, 4 in A-03, and `stock` (pack number -> slot). What
    it tells goes to `activity`, when given."""
    db = tmp_path / "ledger.sqlite"
    keeper = InventoryKeeper(db, {}, "s1", "g1")
    for n, slot in {1: "A-01", 2: "A-01", 3: "A-02", 4: "A-03", **(stock or {})}.items():
        keeper.put_away(pack(n), slot)
    keeper.close()
    handheld = ChafonSimulator(link=tmp_path / "handheld", scan_time=0.01)
    await handheld.start()
    config = parse_config(
        {
            "site": "s1",
            "gateway": "g1",
            "timezone": "Asia/Shanghai",
            "database": str(db),
            "create_database": True,
            "broker": {"url": broker.url},
            "stocktake": {"idle_end_seconds": 30},
            "readers": [
                {"name": "hh", "protocol": "chafon", "role": "handheld", "port": handheld.port}
            ],
            "shelves": [
                {"name": "A", "host": "127.0.0.1", "port": 1, "slots": 4, "gln": "4012345000016"}
            ],
            **extra,
        }
    )
    gateway = Gateway(config, observer=(activity if activity is not None else []).append)
    task = asyncio.create_task(gateway.run())
    await eventually(gateway.ready.is_set)
    try:
        yield gateway, handheld, db
    finally:
        gateway.stop()
        await asyncio.wait_for(task, 10)
        await handheld.stop()


def answers(centre: Subscriber, status: str) -> list[dict[str, object]]:
    return [r for r in centre.payloads("/cmd-result") if r["status"] == status]


async def test_a_sweep_finds_every_difference_and_confirmation_books_them(
    daemon: tuple[Gateway, ChafonSimulator, Path], subscribe: Callable[..., Subscriber]
) -> None:
    _, handheld, db = daemon
    centre = subscribe(f"{PREFIX}/cmd-result", f"{PREFIX}/alarms/#", f"{PREFIX}/events")
    centre.publish(
        f"{PREFIX}/cmd/stocktake-start", json.dumps(with_envelope({"shelf": "A", "by": "Ana"}))
    )
    [started] = await eventually(lambda: answers(centre, "started"), what="sweep started")
    sid = str(started["stocktake_id"])
    # On the shelf: 2 is gone, 3 sits in A-03, 5 is in A-02 but was never booked in.
    groups = [
        [location(1), tag(1)],
        [location(2), tag(5)],
        [location(3), tag(4), tag(3)],
        [location(4)],
    ]
    await handheld.sweep(groups, dwell=0.3)
    centre.publish(f"{PREFIX}/cmd/stocktake-end", json.dumps(with_envelope({"stocktake_id": sid})))
    [ended] = await eventually(lambda: answers(centre, "ended"), what="report")
    assert ended["summary"] == {
        "slots": 4,
        "expected": 4,
        "seen": 4,
        "missing": 1,
        "unexpected": 1,
        "misplaced": 1,
    }
    alarm = f"{PREFIX}/alarms/discrepancy-A"
    raised = await eventually(
        lambda: [m for m in centre.drain() if m.topic == alarm and m.payload], what="alarm"
    )
    assert json.loads(raised[0].payload)["detail"]["stocktake_id"] == sid
    events = await eventually(lambda: centre.payloads("/events"), what="EPCIS events")
    assert {e["readPoint"]["id"] for e in events} == {
        f"urn:epc:id:sgln:{GLN_PREFIX}.{GLN_REF}.{n}"
        for n in (1, 2, 3)  # A-04 held nothing
    }
    assert {e["eventTimeZoneOffset"] for e in events} == {"+08:00"}
    for event in events:
        assert epcis_problems(event) == [], event

    # The export, later, gives the very events the stream carried.
    export = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "edge.cli.main", "stocktake", "report", sid, "--epcis"),
        *("--db", str(db)),
        stdout=asyncio.subprocess.PIPE,
    )
    document = json.loads((await export.communicate())[0])
    assert epcis_problems(document) == []
    exported = document["epcisBody"]["eventList"]
    assert sorted(exported, key=lambda e: e["eventID"]) == sorted(
        ({k: v for k, v in e.items() if k != "@context"} for e in events),
        key=lambda e: e["eventID"],
    )

    report = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "edge.cli.main",
        "stocktake",
        "report",
        sid,
        "--db",
        str(db),
        stdout=asyncio.subprocess.PIPE,
    )
    text = (await report.communicate())[0].decode()
    assert f"missing {pack(2).gtin}/2" in text
    assert "not on the ledger" in text and "belongs elsewhere" in text

    centre.publish(
        f"{PREFIX}/cmd/stocktake-confirm",
        json.dumps(with_envelope({"stocktake_id": sid, "by": "Dr. Ruiz"})),
    )
    [confirmed] = await eventually(lambda: answers(centre, "confirmed"), what="confirmed")
    assert confirmed["adjustments"] == 3
    await eventually(
        lambda: any(m.topic == alarm and not m.payload for m in centre.drain()),
        what="alarm cleared",
    )
    with sqlite3.connect(db) as conn:
        placed = dict(conn.execute("SELECT epc, slot FROM stock WHERE epc IS NOT NULL").fetchall())
        refs = conn.execute(
            "SELECT kind, actor FROM movements WHERE reference = ? ORDER BY id", (sid,)
        ).fetchall()
    assert placed == {
        pack(1).epc: "A-01",
        pack(5).epc: "A-02",
        pack(4).epc: "A-03",
        pack(3).epc: "A-03",
    }
    assert sorted(k for k, _ in refs) == ["count_adjustment", "count_adjustment", "move"]
    assert {a for _, a in refs} == {"Dr. Ruiz"}


async def test_the_handheld_reading_a_location_tag_starts_a_sweep_that_ends_when_quiet(
    tmp_path: Path,
    broker: LocalBroker,
    subscribe: Callable[..., Subscriber],
    daemon: tuple[Gateway, ChafonSimulator, Path],
) -> None:
    gateway, handheld, _ = daemon
    gateway.stocktake._idle_end = 0.6
    centre = subscribe(f"{PREFIX}/cmd-result")
    groups = [[location(n), *([tag(n + 1)] if n < 4 else [])] for n in (1, 2, 3, 4)]
    await handheld.sweep(groups, dwell=0.2)
    [started] = await eventually(lambda: answers(centre, "started"), what="started by the trigger")
    assert started["shelf"] == "A"
    [ended] = await eventually(lambda: answers(centre, "ended"), what="ended when quiet")
    assert ended["stocktake_id"] == started["stocktake_id"]


async def test_a_sweep_ended_while_the_handheld_still_reads_does_not_start_another(
    daemon: tuple[Gateway, ChafonSimulator, Path], subscribe: Callable[..., Subscriber]
) -> None:
    gateway, handheld, _ = daemon
    gateway.stocktake._idle_end = 1.0
    centre = subscribe(f"{PREFIX}/cmd-result")
    handheld.present([location(1), tag(1)])  # and left there: the reads go on
    [started] = await eventually(lambda: answers(centre, "started"), what="started by the trigger")
    sid = str(started["stocktake_id"])
    centre.publish(f"{PREFIX}/cmd/stocktake-end", json.dumps(with_envelope({"stocktake_id": sid})))
    await eventually(lambda: answers(centre, "ended"), what="ended by command")
    flow = gateway.stocktake
    ended_at = flow._last_read
    # Reads after the end keep coming for longer than the quiet time, and start nothing.
    await eventually(lambda: flow._last_read - ended_at > 2.5, timeout=10, what="reads after")
    assert flow.sweep is None and len(answers(centre, "started")) == 1
    handheld.present(())
    stopped = flow._last_read
    await eventually(lambda: gateway.clock.monotonic() - stopped > 1.2, what="a quiet field")
    handheld.present([location(2)])  # the next pass along the shelf starts a new sweep
    await eventually(lambda: len(answers(centre, "started")) == 2, what="a new sweep")


async def test_a_badge_confirms_the_count_just_done_and_not_a_report_left_waiting(
    badged_daemon: tuple[Gateway, ChafonSimulator, Path], subscribe: Callable[..., Subscriber]
) -> None:
    gateway, handheld, db = badged_daemon
    centre = subscribe(f"{PREFIX}/cmd-result")

    async def sweep_with_one_pack_missing() -> str:
        before = len(answers(centre, "started"))
        centre.publish(
            f"{PREFIX}/cmd/stocktake-start", json.dumps(with_envelope({"shelf": "A", "by": "Ana"}))
        )
        started = await eventually(
            lambda: answers(centre, "started")[before:], what="this sweep started"
        )
        sid = str(started[-1]["stocktake_id"])
        groups = [[location(1), tag(1)], [location(2), tag(3)], [location(3), tag(4)]]
        await handheld.sweep(groups, dwell=0.3)
        end = with_envelope({"stocktake_id": sid})
        centre.publish(f"{PREFIX}/cmd/stocktake-end", json.dumps(end))
        await eventually(
            lambda: any(r["stocktake_id"] == sid for r in answers(centre, "ended")), what="report"
        )
        return sid

    async def tap() -> None:
        badge = VirtualBadge(BADGE)
        await badge.insert()
        try:
            await eventually(lambda: "Dr. Ana Ruiz" in gateway.badges.holders.values())
        finally:
            await badge.remove()
        await eventually(lambda: gateway.badges.holders == {})

    # Left waiting past the window: the tap (to log in to the page, say) confirms nothing.
    gateway.stocktake._taps.window = 0.5
    waiting = await sweep_with_one_pack_missing()
    ended = gateway.clock.monotonic()
    await eventually(lambda: gateway.clock.monotonic() - ended > 0.6, what="the window gone")
    await tap()
    assert gateway.stocktake.awaiting == waiting and answers(centre, "confirmed") == []
    with sqlite3.connect(db) as conn:
        assert conn.execute(
            "SELECT count(*) FROM movements WHERE reference = ?", (waiting,)
        ).fetchone() == (0,)

    # A tap at the shelf right after the count confirms it, in the pharmacist's name.
    gateway.stocktake._taps.window = 120
    sid = await sweep_with_one_pack_missing()
    await tap()
    [confirmed] = await eventually(lambda: answers(centre, "confirmed"), what="confirmed")
    assert confirmed["stocktake_id"] == sid and confirmed["adjustments"] == 1
    with sqlite3.connect(db) as conn:
        actors = conn.execute("SELECT actor FROM movements WHERE reference = ?", (sid,)).fetchall()
    assert actors == [("Dr. Ana Ruiz",)]
