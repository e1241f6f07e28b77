"""A count judges only what the handheld read: a sweep cut short (the handheld lowered for the
quiet time, the gateway restarted) counts the slots it passed and lists the others as not
counted, the sweep of the rest of the shelf does not take the first one's slots for empty, a
handheld plugged back in and left quiet ends its count there (the rest of the shelf is a count
of its own), and a shelf walked past on the way out is counted in the one slot read. Nothing on
the shelf is booked out."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from edge.daemon.activity import Activity
from edge.daemon.stocktake_flow import StocktakeFlow
from edge.demo.local_broker import LocalBroker
from edge.settings.config import parse_config
from inventory.changes import Change, ConfirmStocktake, FinishStocktake
from inventory.codes.identifiers import EpcDecoder
from inventory.site_calendar import SiteCalendar
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.test_stocktake_shelf_change import SHELVES, b_location
from tests.edge.test_stocktake_sweep import PREFIX, answers, location, running_daemon, tag
from tests.edge.test_stocktake_waits import SteppedClock

# Packs 1 and 2 in A-01, 3 in A-02, 4 in A-03 (running_daemon), 5 in A-04: all on the shelf.
STOCK = {5: "A-04"}
FIRST_HALF = [[location(1), tag(1), tag(2)], [location(2), tag(3)]]
SECOND_HALF = [[location(3), tag(4)], [location(4), tag(5)]]
QUICK = {"stocktake": {"idle_end_seconds": 1.0}}


def stock(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT slot, serial FROM stock ORDER BY slot, serial").fetchall()


def states(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT stocktake_id, state FROM stocktakes").fetchall())


async def confirm(centre: Subscriber, stocktake_id: str) -> dict[str, object]:
    """Confirm `stocktake_id` as the centre would; the gateway's answer."""
    body = with_envelope({"stocktake_id": stocktake_id, "by": "Dr. Ruiz"})
    centre.publish(f"{PREFIX}/cmd/stocktake-confirm", json.dumps(body))
    [answer] = await eventually(
        lambda: [
            r
            for r in centre.payloads("/cmd-result")
            if r["command"] == "stocktake-confirm" and r["command_id"] == stocktake_id
        ],
        what=f"{stocktake_id} answered",
    )
    return dict(answer)


async def test_a_sweep_paused_mid_shelf_and_the_rest_swept_after_book_nothing_out(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    async with running_daemon(tmp_path, broker, QUICK, STOCK) as (_, handheld, db):
        centre = subscribe(f"{PREFIX}/cmd-result", f"{PREFIX}/alarms/#")
        await handheld.sweep(FIRST_HALF, dwell=0.3)
        # The handheld lowered longer than the quiet time: the sweep ends at A-02.
        [first] = await eventually(lambda: answers(centre, "ended"), what="the first half")
        assert first["summary"] == {
            "slots": 2,
            "expected": 3,
            "seen": 3,
            "missing": 0,
            "unexpected": 0,
            "misplaced": 0,
        }
        assert first["not_counted"] == ["A-03", "A-04"]
        await asyncio.sleep(0.5)
        await handheld.sweep(SECOND_HALF, dwell=0.3)
        second = await eventually(lambda: answers(centre, "ended")[1:], what="the second half")
        assert (second[0]["summary"]["missing"], second[0]["summary"]["seen"]) == (0, 2)
        assert second[0]["not_counted"] == ["A-01", "A-02"]
        # The second count did not take the first's slots for empty: both wait, for their own.
        ids = [str(first["stocktake_id"]), str(second[0]["stocktake_id"])]
        assert [states(db)[sid] for sid in ids] == ["ended", "ended"]
        for sid in reversed(ids):
            answer = await confirm(centre, sid)
            assert (answer["status"], answer["adjustments"]) == ("confirmed", 0)
        assert stock(db) == [
            ("A-01", "1"),
            ("A-01", "2"),
            ("A-02", "3"),
            ("A-03", "4"),
            ("A-04", "5"),
        ]
        assert not [m.topic for m in centre.drain() if "discrepancy" in m.topic and m.payload]


async def test_the_rest_of_a_shelf_swept_after_a_restart_books_nothing_out(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    centre = subscribe(f"{PREFIX}/cmd-result")
    async with running_daemon(tmp_path, broker, QUICK, STOCK) as (gateway, handheld, db):
        await handheld.sweep(FIRST_HALF, dwell=0.3)
        await eventually(lambda: answers(centre, "started"), what="the sweep began")
        assert gateway.stocktake.sweep is not None
    # The gateway restarted mid-sweep: that sweep is abandoned; the pharmacist sweeps on.
    again = {**QUICK, "database": str(db)}
    async with running_daemon(tmp_path / "again", broker, again) as (_, handheld, _):
        await eventually(lambda: answers(centre, "abandoned"), what="the cut sweep abandoned")
        await handheld.sweep(SECOND_HALF, dwell=0.3)
        [ended] = await eventually(lambda: answers(centre, "ended"), what="the rest counted")
        assert ended["summary"]["missing"] == 0 and ended["not_counted"] == ["A-01", "A-02"]
        answer = await confirm(centre, str(ended["stocktake_id"]))
        assert (answer["status"], answer["adjustments"]) == ("confirmed", 0)
    assert stock(db) == [("A-01", "1"), ("A-01", "2"), ("A-02", "3"), ("A-03", "4"), ("A-04", "5")]


async def test_a_handheld_plugged_back_in_and_left_quiet_ends_the_count_and_the_rest_is_its_own(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    async with running_daemon(tmp_path, broker, QUICK, STOCK) as (gateway, handheld, db):
        centre = subscribe(f"{PREFIX}/cmd-result", f"{PREFIX}/alarms/#")
        await handheld.sweep(FIRST_HALF, dwell=0.3)
        [reader] = gateway.devices.readers
        await handheld.line.unplug(2.0)  # the cable pulled, and plugged back in at the desk
        await eventually(lambda: reader.up is True, what="the handheld back")
        # Left quiet for the quiet time after its return (not the 15 minutes' wait for its
        # return): the count ends there, judging the slots it passed, and the handheld is free.
        [first] = await eventually(lambda: answers(centre, "ended"), what="the first count")
        assert first["not_counted"] == ["A-03", "A-04"] and first["summary"]["missing"] == 0
        assert gateway.stocktake.sweep is None
        await handheld.sweep(SECOND_HALF, dwell=0.3)
        second = await eventually(lambda: answers(centre, "ended")[1:], what="the rest")
        assert second[0]["not_counted"] == ["A-01", "A-02"]
        assert second[0]["summary"]["missing"] == 0
        # Two counts, each judging its own slots: confirming both books nothing out.
        for sid in (str(first["stocktake_id"]), str(second[0]["stocktake_id"])):
            answer = await confirm(centre, sid)
            assert (answer["status"], answer["adjustments"], answer["skipped"]) == (
                "confirmed",
                0,
                [],
            )
        assert stock(db) == [
            ("A-01", "1"),
            ("A-01", "2"),
            ("A-02", "3"),
            ("A-03", "4"),
            ("A-04", "5"),
        ]
        assert not [m.topic for m in centre.drain() if "discrepancy" in m.topic and m.payload]


async def test_a_shelf_walked_past_is_counted_in_the_slot_read_and_a_badge_does_not_guess(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    shelves = {**SHELVES, **QUICK}
    on_b = {7: "B-01", 8: "B-02", 9: "B-03"}
    async with running_daemon(tmp_path, broker, shelves, on_b) as (gateway, handheld, db):
        centre = subscribe(f"{PREFIX}/cmd-result", f"{PREFIX}/alarms/#")
        shelf_a = [*FIRST_HALF, [location(3), tag(4)], [location(4)]]
        # Walking away, past the end of shelf B: its first slot's tag and pack, a few rounds.
        await handheld.sweep([*shelf_a, [b_location(1), tag(7)]], dwell=0.4)
        await eventually(lambda: len(answers(centre, "ended")) == 2, what="A and B counted")
        by_shelf = {str(e["shelf"]): e for e in answers(centre, "ended")}
        assert by_shelf["A"]["summary"]["missing"] == 0
        assert by_shelf["B"]["summary"] == {
            "slots": 1,
            "expected": 1,
            "seen": 1,
            "missing": 0,
            "unexpected": 0,
            "misplaced": 0,
        }
        assert by_shelf["B"]["not_counted"] == ["B-02", "B-03", "B-04"]
        # Ana's badge at once, meant for A: two counts just ended, the tap does not guess.
        assert gateway.stocktake.badge("Dr. Ana Ruiz") is False
        answer = await confirm(centre, str(by_shelf["A"]["stocktake_id"]))
        assert (answer["status"], answer["adjustments"]) == ("confirmed", 0)
        assert states(db)[str(by_shelf["B"]["stocktake_id"])] == "ended"
        assert {slot for slot, _ in stock(db)} == {"A-01", "A-02", "A-03", "B-01", "B-02", "B-03"}
        assert not [m.topic for m in centre.drain() if "discrepancy" in m.topic and m.payload]


def test_a_badge_tapped_as_two_counts_just_ended_confirms_neither_and_names_them(
    tmp_path: Path,
) -> None:
    config = parse_config(
        {"site": "s1", "gateway": "g1", "database": str(tmp_path / "l"), **SHELVES}
    )
    clock = SteppedClock()
    changes: list[Change] = []
    said: list[Activity] = []
    flow = StocktakeFlow(config, changes.append, said.append, dict, clock, SiteCalendar(None))
    decode = EpcDecoder().decode

    def rounds(*reads: bytes, times: int = 2) -> None:
        for _ in range(times):
            for read in reads:
                flow.read(decode(read), 0, "Ana", "hh")
            flow.round_done("Ana", "hh")
            clock.at += 0.3

    for n in (1, 2, 3, 4):
        rounds(location(n), tag(n))
    rounds(b_location(1), tag(7), times=3)  # walking past B's end: A's count ends, B's begins
    clock.at += 10
    flow.end()  # B's, as the quiet time ends it
    finished = [c.sweep.stocktake_id for c in changes if isinstance(c, FinishStocktake)]
    assert [c.sweep.shelf for c in changes if isinstance(c, FinishStocktake)] == ["A", "B"]
    assert flow.badge("Dr. Ana Ruiz") is False
    assert not [c for c in changes if isinstance(c, ConfirmStocktake)]
    assert said[-1].text.startswith("Dr. Ana Ruiz's badge confirms nothing: 2 counts ended")
    assert all(sid in said[-1].text for sid in finished)
