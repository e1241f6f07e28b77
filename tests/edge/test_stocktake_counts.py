"""Counts at the shelf that must book what the shelf holds: a report counted again since is
not confirmed over the newer count, packs the ledger moved while the handheld passed are not
judged by a count that could not see the move, and a pack of another shelf read through the gap,
where that shelf's fixed reader still sees it, is not moved."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker
from firmware_sim.chafon_sim import ChafonSimulator
from firmware_sim.r2000_sim import R2000Simulator
from inventory.stocktake.report import StocktakeReport
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.procurement_rig import CliRun
from tests.edge.test_stocktake_shelf_change import SHELVES
from tests.edge.test_stocktake_sweep import (
    PREFIX,
    answers,
    location,
    pack,
    running_daemon,
    tag,
)

Daemon = tuple[Gateway, ChafonSimulator, Path]


@pytest.fixture
async def daemon(tmp_path: Path, broker: LocalBroker) -> AsyncIterator[Daemon]:
    """Shelf A (slots A-01..A-04: packs 1 and 2 in A-01, 3 in A-02, 4 in A-03), a handheld."""
    async with running_daemon(tmp_path, broker, {}) as started:
        yield started


async def sweep(centre: Subscriber, handheld: ChafonSimulator, groups: list[list[bytes]]) -> str:
    """One sweep by command along `groups` (a slot's location tag and its packs each); its id."""
    before = len(answers(centre, "started"))
    start = with_envelope({"shelf": "A", "by": "Ana"})
    centre.publish(f"{PREFIX}/cmd/stocktake-start", json.dumps(start))
    started = await eventually(lambda: answers(centre, "started")[before:], what="started")
    sid = str(started[0]["stocktake_id"])
    await handheld.sweep(groups, dwell=0.3)
    centre.publish(f"{PREFIX}/cmd/stocktake-end", json.dumps(with_envelope({"stocktake_id": sid})))
    await eventually(
        lambda: any(r["stocktake_id"] == sid for r in answers(centre, "ended")), what="report"
    )
    return sid


async def test_a_report_counted_again_since_is_not_confirmed_over_the_newer_count(
    daemon: Daemon, subscribe: Callable[..., Subscriber]
) -> None:
    _, handheld, db = daemon
    centre = subscribe(f"{PREFIX}/cmd-result")
    # 8:00: pack 2 is at the counter while the shelf is swept: the count finds it missing.
    first = await sweep(
        centre, handheld, [[location(1), tag(1)], [location(2), tag(3)], [location(3), tag(4)]]
    )
    # 8:05: back on the shelf, the shelf swept again: all there.
    await sweep(
        centre,
        handheld,
        [[location(1), tag(1), tag(2)], [location(2), tag(3)], [location(3), tag(4)]],
    )
    confirm = with_envelope({"stocktake_id": first, "by": "Dr. Ruiz"})
    centre.publish(f"{PREFIX}/cmd/stocktake-confirm", json.dumps(confirm))
    [refused] = await eventually(lambda: answers(centre, "error"), what="the answer")
    assert refused["command_id"] == first and "counted again" in str(refused["error"])
    assert answers(centre, "confirmed") == []
    with sqlite3.connect(db) as conn:
        where = conn.execute("SELECT slot FROM stock WHERE epc = ?", (pack(2).epc,)).fetchall()
        rows = dict(conn.execute("SELECT stocktake_id, state FROM stocktakes").fetchall())
    assert where == [("A-01",)], "the pack on the shelf was booked out by the older count"
    assert rows[first] == "superseded"


async def test_packs_read_before_the_first_location_tag_are_not_booked_out(
    daemon: Daemon, subscribe: Callable[..., Subscriber]
) -> None:
    _, handheld, db = daemon
    centre = subscribe(f"{PREFIX}/cmd-result")
    # A-01's location tag is torn: its packs are read before any location tag, and A-01 is
    # not counted (the report says so: its tag wants looking at).
    sid = await sweep(
        centre,
        handheld,
        [[tag(1), tag(2)], [location(2), tag(3)], [location(3), tag(4)], [location(4)]],
    )
    [ended] = answers(centre, "ended")
    assert ended["summary"]["missing"] == 0 and ended["summary"]["seen"] == 2
    assert ended["not_counted"] == ["A-01"]
    confirm = with_envelope({"stocktake_id": sid, "by": "Dr. Ruiz"})
    centre.publish(f"{PREFIX}/cmd/stocktake-confirm", json.dumps(confirm))
    [confirmed] = await eventually(lambda: answers(centre, "confirmed"), what="confirmed")
    assert confirmed["adjustments"] == 0
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT epc FROM stock WHERE slot = 'A-01'").fetchall()
    assert {epc for (epc,) in rows} == {pack(1).epc, pack(2).epc}


async def test_packs_the_ledger_moved_while_the_handheld_passed_are_not_judged_by_the_count(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    fixed = R2000Simulator(link=tmp_path / "fixed")  # watches from above
    fixed.place(2, tag(3))
    fixed.place(1, tag(4))
    await fixed.start()
    handheld = str(tmp_path / "handheld")  # the link running_daemon's handheld makes
    watched = {
        "presence": {"dwell_seconds": 0.5},
        "readers": [
            {"name": "hh", "protocol": "chafon", "role": "handheld", "port": handheld},
            {"name": "fixed", "port": fixed.port, "antennas": {"1": "A-03", "2": "A-02"}},
        ],
    }
    try:
        async with running_daemon(tmp_path, broker, watched) as (_, sweeper, db):
            centre = subscribe(f"{PREFIX}/cmd-result")

            def booked() -> dict[str, str]:
                with sqlite3.connect(db) as conn:
                    rows = conn.execute("SELECT epc, slot FROM stock WHERE epc IS NOT NULL")
                    return dict(rows.fetchall())

            start = with_envelope({"shelf": "A", "by": "Ana"})
            centre.publish(f"{PREFIX}/cmd/stocktake-start", json.dumps(start))
            [started] = await eventually(lambda: answers(centre, "started"), what="started")
            sid = str(started["stocktake_id"])
            passed = [[location(1), tag(1), tag(2)], [location(2), tag(3)], [location(3), tag(4)]]
            await sweeper.sweep(passed, dwell=0.3)
            # Behind the pharmacist's back, once the handheld has passed: pack 3 is taken off
            # A-02, and a new pack 6 is put on A-03; the shelf's own reader books both.
            fixed.remove(tag(3))
            fixed.place(1, tag(6))
            await eventually(
                lambda: pack(3).epc not in booked() and booked().get(pack(6).epc) == "A-03",
                what="the ledger following the shelf",
            )
            await sweeper.sweep([[location(4)]], dwell=0.3)
            end = with_envelope({"stocktake_id": sid})
            centre.publish(f"{PREFIX}/cmd/stocktake-end", json.dumps(end))
            [ended] = await eventually(lambda: answers(centre, "ended"), what="report")
            confirm = with_envelope({"stocktake_id": sid, "by": "Dr. Ruiz"})
            centre.publish(f"{PREFIX}/cmd/stocktake-confirm", json.dumps(confirm))
            [confirmed] = await eventually(lambda: answers(centre, "confirmed"), what="confirmed")
            ledger = booked()
    finally:
        await fixed.stop()
    summary = ended["summary"]
    assert (summary["missing"], summary["unexpected"], summary["misplaced"]) == (0, 0, 0)
    assert confirmed["adjustments"] == 0
    assert pack(3).epc not in ledger, "the pack taken away was booked back onto the shelf"
    assert ledger[pack(6).epc] == "A-03", "the pack put away was booked out"


async def test_a_sweep_waits_for_a_handheld_unplugged_mid_shelf_and_counts_on_after_it(
    daemon: Daemon, subscribe: Callable[..., Subscriber]
) -> None:
    gateway, handheld, _ = daemon
    gateway.stocktake._idle_end = 1.0
    centre = subscribe(f"{PREFIX}/cmd-result")
    start = with_envelope({"shelf": "A", "by": "Ana"})
    centre.publish(f"{PREFIX}/cmd/stocktake-start", json.dumps(start))
    [started] = await eventually(lambda: answers(centre, "started"), what="started")
    sid = str(started["stocktake_id"])
    await handheld.sweep([[location(1), tag(1), tag(2)], [location(2), tag(3)]], dwell=0.3)
    [reader] = gateway.devices.readers
    await handheld.line.unplug(3.0)  # the cable out for longer than the quiet time
    await eventually(lambda: reader.up is True, what="the handheld back")
    await handheld.sweep([[location(3), tag(4)], [location(4)]], dwell=0.3)
    centre.publish(f"{PREFIX}/cmd/stocktake-end", json.dumps(with_envelope({"stocktake_id": sid})))
    [ended] = await eventually(lambda: answers(centre, "ended"), what="report")
    assert ended["stocktake_id"] == sid, "the sweep ended while the handheld was unplugged"
    assert ended["summary"]["missing"] == 0 and ended["summary"]["seen"] == 4
    assert answers(centre, "error") == []


async def test_a_sweep_whose_handheld_stays_away_is_abandoned_unjudged_and_the_shelf_freed(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    stocktake = {"idle_end_seconds": 1, "handheld_wait_seconds": 1}
    async with running_daemon(tmp_path, broker, {"stocktake": stocktake}) as (gateway, hh, db):
        centre = subscribe(f"{PREFIX}/cmd-result", f"{PREFIX}/alarms/#")
        start = with_envelope({"shelf": "A", "by": "Ana"})
        centre.publish(f"{PREFIX}/cmd/stocktake-start", json.dumps(start))
        [started] = await eventually(lambda: answers(centre, "started"), what="started")
        sid = str(started["stocktake_id"])
        await hh.sweep([[location(1), tag(1), tag(2)]], dwell=0.3)  # one slot of four
        [reader] = gateway.devices.readers
        unplugged = asyncio.create_task(hh.line.unplug(4.0))  # the battery flat
        [gone] = await eventually(lambda: answers(centre, "abandoned"), what="abandoned")
        assert reader.up is False, "abandoned before the handheld had been away its wait"
        assert (gone["stocktake_id"], gone["shelf"]) == (sid, "A")
        assert "handheld hh down" in gone["reason"] and "sweep the shelf again" in gone["reason"]
        await unplugged
        await eventually(lambda: reader.up is True, what="the handheld back")
        # Nothing was judged: no report, no discrepancy alarm, nothing a badge could confirm.
        assert answers(centre, "ended") == []
        assert not [m.topic for m in centre.drain() if "discrepancy" in m.topic]
        with sqlite3.connect(db) as ledger:
            row = ledger.execute("SELECT state FROM stocktakes WHERE stocktake_id = ?", (sid,))
            assert row.fetchone() == ("abandoned",)
        assert gateway.stocktake.awaiting is None
        # The shelf is free: the handheld's next pass starts and finishes a new count.
        shelf = [[location(1), tag(1), tag(2)], [location(2), tag(3)], [location(3), tag(4)]]
        await hh.sweep([*shelf, [location(4)]], dwell=0.3)
        [ended] = await eventually(lambda: answers(centre, "ended"), what="the new count")
        assert ended["stocktake_id"] != sid
        assert (ended["summary"]["seen"], ended["summary"]["missing"]) == (4, 0)


async def test_the_stocktake_commands_print_the_gateways_answers(
    daemon: Daemon, broker: LocalBroker
) -> None:
    """`rxedge stocktake start`, `end` and `confirm`: each ends on the gateway's answer (the
    start and the end are answered under the id the gateway gives the sweep)."""
    _, handheld, _ = daemon
    target = ["--broker", broker.url, "--site", "s1", "--gateway", "g1"]
    started = await CliRun.start("stocktake", "start", "A", "--by", "Ana", "--json", *target)
    assert await started.finish(timeout=20) == 0, started.errors
    [answer] = started.json_lines()
    assert answer["status"] == "started" and answer["shelf"] == "A"
    sid = str(answer["stocktake_id"])
    await handheld.sweep([[location(1), tag(1)], [location(2), tag(3)]], dwell=0.3)
    ended = await CliRun.start("stocktake", "end", *target)
    assert await ended.finish(timeout=20) == 0, ended.errors
    assert any(sid in line and "ended" in line for line in ended.lines), ended.lines
    confirmed = await CliRun.start("stocktake", "confirm", sid, "--by", "Ana", *target)
    assert await confirmed.finish(timeout=20) == 0, confirmed.errors
    assert any("confirmed" in line for line in confirmed.lines), confirmed.lines
    # An end with no sweep running is answered with the refusal, and says so.
    again = await CliRun.start("stocktake", "end", *target)
    assert await again.finish(timeout=20) == 1, again.errors
    assert any("no stocktake is running" in line for line in again.lines), again.lines


async def test_an_end_answered_abandoned_ends_the_command_at_once_as_a_failure(
    daemon: Daemon, broker: LocalBroker
) -> None:
    """A sweep ended before the handheld read anything is abandoned (nothing to judge): that
    answer is the end's last word, so the command stops on it with 1, not after --wait."""
    target = ["--broker", broker.url, "--site", "s1", "--gateway", "g1"]
    started = await CliRun.start("stocktake", "start", "A", "--by", "Ana", *target)
    assert await started.finish(timeout=20) == 0, started.errors
    ended = await CliRun.start("stocktake", "end", "--wait", "60", "--json", *target)
    try:
        code = await ended.finish(timeout=20)
    finally:
        await ended.kill()
    assert code == 1, ended.errors
    [answer] = ended.json_lines()
    assert answer["status"] == "abandoned" and "no location tag" in str(answer["reason"]), answer
    assert ended.errors == [], "an answer came: no 'no answer' message"


async def test_a_pack_its_fixed_reader_still_sees_on_another_shelf_is_read_through_not_moved(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    fixed = R2000Simulator(link=tmp_path / "fixed")  # watches B-01, where pack 5 lies
    fixed.place(1, tag(5))
    await fixed.start()
    watched = {
        "presence": {"dwell_seconds": 0.5},
        "readers": [
            {
                "name": "hh",
                "protocol": "chafon",
                "role": "handheld",
                "port": str(tmp_path / "handheld"),
            },
            {"name": "fixed", "port": fixed.port, "antennas": {"1": "B-01"}},
        ],
        **SHELVES,
    }
    try:
        async with running_daemon(tmp_path, broker, watched, {5: "B-01"}) as (_, hh, db):
            centre = subscribe(f"{PREFIX}/cmd-result")
            start = with_envelope({"shelf": "A", "by": "Ana"})
            centre.publish(f"{PREFIX}/cmd/stocktake-start", json.dumps(start))
            [started] = await eventually(lambda: answers(centre, "started"), what="started")
            sid = str(started["stocktake_id"])
            shelf_a = [
                [location(1), tag(1), tag(2)],
                [location(2), tag(3)],
                [location(3), tag(4)],
                [location(4), tag(5)],  # B-01's pack, through the gap
            ]
            await hh.sweep(shelf_a, dwell=0.3)
            end = with_envelope({"stocktake_id": sid})
            centre.publish(f"{PREFIX}/cmd/stocktake-end", json.dumps(end))
            [ended] = await eventually(lambda: answers(centre, "ended"), what="report")
            confirm = with_envelope({"stocktake_id": sid, "by": "Dr. Ruiz"})
            centre.publish(f"{PREFIX}/cmd/stocktake-confirm", json.dumps(confirm))
            await eventually(lambda: answers(centre, "confirmed"), what="confirmed")
            with sqlite3.connect(db) as conn:
                slot = conn.execute("SELECT slot FROM stock WHERE epc = ?", (pack(5).epc,))
                booked = slot.fetchone()
                row = conn.execute("SELECT report FROM stocktakes WHERE stocktake_id = ?", (sid,))
                report = StocktakeReport.from_dict(json.loads(row.fetchone()[0]))
    finally:
        await fixed.stop()
    assert ended["summary"]["misplaced"] == 0
    assert [(f.epc, f.ledger_slot, f.seen_slot) for f in report.read_through] == [
        (pack(5).epc, "B-01", "A-04")
    ]
    assert booked == ("B-01",), "the pack its reader sees in B-01 was moved to A-04"
