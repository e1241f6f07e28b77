"""A badge tapped at the shelf confirms a count without anyone looking: shelves A and B stand
back to back, and the handheld sweeping A reads B's packs through the shelf. The tap books the
rest of A's count, but leaves the packs booked on B (maybe read through from there) where the
ledger has them: their slots keep blinking blue, the log, the answer and the report say they
wait for a look, and a confirmation on the page or by command after looking moves them."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from drivers.modbus.lights import DARK, SlotLight
from edge.daemon.activity import Activity
from edge.daemon.stocktake_flow import StocktakeFlow
from edge.demo.local_broker import LocalBroker
from edge.lights.light_plan import DISCREPANCY_LIGHT
from edge.settings.config import parse_config
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator
from inventory.alarms.lifecycle import AlarmKind
from inventory.apply import apply
from inventory.changes import Change, FinishStocktake
from inventory.codes.identifiers import EpcDecoder
from inventory.keeper import InventoryKeeper
from inventory.ledger.outbox import MessageKind
from inventory.picking.outcome import Outcome
from inventory.site_calendar import SiteCalendar
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.procurement_rig import CliRun
from tests.edge.test_stocktake_shelf_change import SHELVES
from tests.edge.test_stocktake_sweep import PREFIX, answers, location, pack, running_daemon, tag
from tests.edge.test_stocktake_waits import SteppedClock

# Packs 1 and 2 in A-01, 3 in A-02, 4 in A-03 (as running_daemon books them); 102 in B-02 and
# 103 in B-03, behind.
ON_B = {102: "B-02", 103: "B-03"}
# Shelf A swept: pack 2 is gone from A-01; at B's packs are read through.
SWEEP_OF_A = [
    [location(1), tag(1)],
    [location(2), tag(3), tag(102)],
    [location(3), tag(4), tag(103)],
    [location(4)],
]
ON_B_SERIALS = {"102": "B-02", "103": "B-03"}
TO_LOOK_AT = (
    "booked in {}, on another shelf: maybe read through from there, which a badge tap cannot "
    "tell; look, and if it is not there, confirm {} on the page or by command to move it here"
)


def where(db: Path) -> dict[str, str]:
    """Tagged packs on the shelves: serial -> slot."""
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT serial, slot FROM stock WHERE epc IS NOT NULL"))


def last_answer(keeper: InventoryKeeper) -> dict[str, object]:
    """The gateway's last answer on `cmd-result`, as the outbox holds it."""
    rows = keeper.pending_messages(1000)
    payload = [r.payload for r in rows if r.kind is MessageKind.COMMAND_RESULT][-1]
    return dict(json.loads(payload))


def state_of(db: Path, stocktake_id: str) -> tuple[str, str]:
    """A count's state, and whose badge tap booked part of it ('' none)."""
    with sqlite3.connect(db) as conn:
        state, report = conn.execute(
            "SELECT state, report FROM stocktakes WHERE stocktake_id = ?", (stocktake_id,)
        ).fetchone()
    return str(state), str(json.loads(report)["tapped_by"])


def test_a_tap_books_the_count_but_leaves_the_packs_booked_on_another_shelf_for_a_look(
    tmp_path: Path,
) -> None:
    db = tmp_path / "ledger.sqlite"
    config = parse_config({"site": "s1", "gateway": "g1", "database": str(db), **SHELVES})
    keeper = InventoryKeeper(db, {}, "s1", "g1")
    for n, slot in {1: "A-01", 2: "A-01", 3: "A-02", 4: "A-03", **ON_B}.items():
        keeper.put_away(pack(n), slot)
    clock = SteppedClock()
    said: list[Activity] = []
    done: list[Outcome] = []
    changes: list[Change] = []

    def submit(change: Change) -> None:
        changes.append(change)
        done.append(apply(keeper, change))

    flow = StocktakeFlow(config, submit, said.append, dict, clock, SiteCalendar(None, clock.now))
    decode = EpcDecoder().decode
    for group in SWEEP_OF_A:
        for _ in range(2):
            for read in group:
                flow.read(decode(read), 0, "Ana", "hh")
            flow.round_done("Ana", "hh")
            clock.at += 0.3
    clock.at += 30
    flow.end()  # as its quiet time ends it
    [finished] = [c for c in changes if isinstance(c, FinishStocktake)]
    sid = finished.sweep.stocktake_id

    assert flow.badge("Dr. Ana Ruiz") is True  # the tap at the shelf, the count just done
    assert where(db) == {"1": "A-01", "3": "A-02", "4": "A-03", **ON_B_SERIALS}
    assert state_of(db, sid) == ("ended", "Dr. Ana Ruiz"), "it waits for the packs left"
    [alarm] = [a for a in keeper.alarms.live() if a.kind is AlarmKind.DISCREPANCY]
    assert alarm.detail["slots"] == ["A-02", "A-03"], "A-01's difference is booked"
    answer = last_answer(keeper)
    assert (answer["status"], answer["by"], answer["adjustments"]) == (
        "confirmed",
        "Dr. Ana Ruiz",
        1,
    )
    assert [(s["serial"], s["slot"], s["why"]) for s in answer["skipped"]] == [
        ("102", "A-02", TO_LOOK_AT.format("B-02", sid)),
        ("103", "A-03", TO_LOOK_AT.format("B-03", sid)),
    ]
    assert any(
        f"stocktake {sid} Dr. Ana Ruiz's badge booked all but the packs to look at: 1 "
        "adjustment(s) booked; 2 not booked: "
        in note
        and note.endswith("; A-02, A-03 blink blue until then")
        for note in done[-1].notes
    ), done[-1].notes

    # She looked: B's packs are on A after all. Confirming the count now moves them, and only
    # them; the count is done.
    flow.confirm(sid, "Dr. Ana Ruiz")
    assert where(db) == {"1": "A-01", "3": "A-02", "4": "A-03", "102": "A-02", "103": "A-03"}
    assert state_of(db, sid) == ("confirmed", "Dr. Ana Ruiz")
    assert not [a for a in keeper.alarms.live() if a.kind is AlarmKind.DISCREPANCY]
    answer = last_answer(keeper)
    assert (answer["adjustments"], answer["skipped"]) == (2, [])
    kinds = keeper.db.execute(
        "SELECT serial, kind, reason FROM movements WHERE reference = ? ORDER BY id", (sid,)
    ).fetchall()
    assert [tuple(row) for row in kinds] == [
        ("2", "count_adjustment", "stocktake: not found"),
        ("102", "move", "stocktake: found in A-02"),
        ("103", "move", "stocktake: found in A-03"),
    ]
    keeper.close()


async def test_on_the_daemon_a_tap_leaves_the_packs_read_through_blinking_until_confirmed(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    controllers = ShelfControllerSimulator(slots=4, device_ids=(1, 2))
    await controllers.start()
    shelves = [{**s, "port": controllers.port} for s in SHELVES["shelves"]]
    activity: list[Activity] = []
    rig = running_daemon(tmp_path, broker, {"shelves": shelves}, ON_B, activity)
    try:
        async with rig as (gateway, handheld, db):
            centre = subscribe(f"{PREFIX}/cmd-result")

            async def light(slot: str) -> SlotLight:
                shelf, number = slot.split("-")
                return await controllers.light(int(number) - 1, device_id=" AB".index(shelf))

            async def lit(expected: dict[str, SlotLight]) -> bool:
                return {slot: await light(slot) for slot in expected} == expected

            start = with_envelope({"shelf": "A", "by": "Dr. Ana Ruiz"})
            centre.publish(f"{PREFIX}/cmd/stocktake-start", json.dumps(start))
            [started] = await eventually(lambda: answers(centre, "started"), what="started")
            sid = str(started["stocktake_id"])
            await handheld.sweep(SWEEP_OF_A, dwell=0.3)
            end = with_envelope({"stocktake_id": sid})
            centre.publish(f"{PREFIX}/cmd/stocktake-end", json.dumps(end))
            [ended] = await eventually(lambda: answers(centre, "ended"), what="the report")
            assert (ended["summary"]["missing"], ended["summary"]["misplaced"]) == (1, 2)
            differing = {
                "A-01": DISCREPANCY_LIGHT,
                "A-02": DISCREPANCY_LIGHT,
                "A-03": DISCREPANCY_LIGHT,
            }
            await eventually(lambda: lit(differing), what="the differences blinking")

            # The tap at the shelf, as the badge reader's BadgePresented hands it on.
            assert gateway.stocktake.badge("Dr. Ana Ruiz") is True
            [tapped] = await eventually(lambda: answers(centre, "confirmed"), what="booked")
            assert tapped["adjustments"] == 1
            assert [s["serial"] for s in tapped["skipped"]] == ["102", "103"]
            left = {
                "A-01": DARK,
                "A-02": DISCREPANCY_LIGHT,
                "A-03": DISCREPANCY_LIGHT,
                "B-02": DARK,
            }
            await eventually(lambda: lit(left), what="only the slots to look at blinking")
            assert where(db) == {"1": "A-01", "3": "A-02", "4": "A-03", **ON_B_SERIALS}
            assert any("blink blue until then" in a.text for a in activity)

            # The report says what waits; she looks, finds them on A, and confirms: moved here.
            report = await CliRun.start("stocktake", "report", sid, "--db", str(db))
            assert await report.finish() == 0, report.errors
            assert any(
                line.startswith("Dr. Ana Ruiz's badge booked the rest; waiting for a look")
                and "/102 (ledger B-02)" in line
                for line in report.lines
            ), report.lines
            target = ("--broker", broker.url, "--site", "s1", "--gateway", "g1")
            confirmed = await CliRun.start("stocktake", "confirm", sid, "--by", "Bo", *target)
            assert await confirmed.finish(timeout=20) == 0, confirmed.errors
            await eventually(lambda: len(answers(centre, "confirmed")) == 2, what="confirmed")
            dark = {"A-01": DARK, "A-02": DARK, "A-03": DARK}
            await eventually(lambda: lit(dark), what="the lights out")
            assert where(db) == {
                "1": "A-01",
                "3": "A-02",
                "4": "A-03",
                "102": "A-02",
                "103": "A-03",
            }
            assert state_of(db, sid) == ("confirmed", "Dr. Ana Ruiz")
            with sqlite3.connect(db) as conn:
                moved_by = conn.execute(
                    "SELECT serial, actor FROM movements WHERE reference = ? ORDER BY id", (sid,)
                ).fetchall()
            assert moved_by == [("2", "Dr. Ana Ruiz"), ("102", "Bo"), ("103", "Bo")]
    finally:
        await controllers.stop()
