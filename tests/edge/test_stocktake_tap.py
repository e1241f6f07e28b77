"""A badge tapped at the shelf confirms a count without anyone looking: shelves A and B stand
back to back, and the handheld sweeping A reads B's packs through the shelf. The tap confirms
A's count, booking every difference but those packs booked on B (maybe read through from
there), which it leaves where the ledger has them: the count is done, its alarm cleared and its
lights dark, and the answer, the log and the report say what was left and why."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
LEFT = (
    "booked in {}, on another shelf: maybe read through from there, which a badge tap cannot "
    "tell, so left where the ledger has it (count that shelf to be sure)"
)


def where(db: Path) -> dict[str, str]:
    """Tagged packs on the shelves: serial -> slot."""
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT serial, slot FROM stock WHERE epc IS NOT NULL"))


def state_of(db: Path, stocktake_id: str) -> tuple[str, str, str]:
    """A count's state, who confirmed it, and whose badge tap did ('' none)."""
    with sqlite3.connect(db) as conn:
        state, by, report = conn.execute(
            "SELECT state, confirmed_by, report FROM stocktakes WHERE stocktake_id = ?",
            (stocktake_id,),
        ).fetchone()
    return str(state), str(by or ""), str(json.loads(report)["tapped_by"])


def swept(
    tmp_path: Path, sweep: list[list[bytes]]
) -> tuple[InventoryKeeper, StocktakeFlow, str, list[Outcome]]:
    """Shelf A swept with `sweep` on a ledger holding packs 1-4 on A and 102, 103 on B: the
    keeper, the flow, the count's id, and what each change applied said."""
    db = tmp_path / "ledger.sqlite"
    config = parse_config({"site": "s1", "gateway": "g1", "database": str(db), **SHELVES})
    keeper = InventoryKeeper(db, {}, "s1", "g1")
    for n, slot in {1: "A-01", 2: "A-01", 3: "A-02", 4: "A-03", **ON_B}.items():
        keeper.put_away(pack(n), slot)
    clock = SteppedClock()
    done: list[Outcome] = []
    changes: list[Change] = []

    def submit(change: Change) -> None:
        changes.append(change)
        done.append(apply(keeper, change))

    flow = StocktakeFlow(config, submit, lambda _: None, dict, clock, SiteCalendar(None, clock.now))
    decode = EpcDecoder().decode
    for group in sweep:
        for _ in range(2):
            for read in group:
                flow.read(decode(read), 0, "Ana", "hh")
            flow.round_done("Ana", "hh")
            clock.at += 0.3
    clock.at += 30
    flow.end()  # as its quiet time ends it
    [finished] = [c for c in changes if isinstance(c, FinishStocktake)]
    return keeper, flow, finished.sweep.stocktake_id, done


def confirmed_answers(keeper: InventoryKeeper) -> list[dict[str, Any]]:
    """The gateway's `confirmed` answers on `cmd-result`, as the outbox holds them."""
    rows = keeper.pending_messages(1000)
    payloads = [json.loads(r.payload) for r in rows if r.kind is MessageKind.COMMAND_RESULT]
    return [dict(p) for p in payloads if p["status"] == "confirmed"]


def test_a_tap_confirms_the_count_leaving_the_packs_booked_on_another_shelf_where_they_are(
    tmp_path: Path,
) -> None:
    keeper, flow, sid, done = swept(tmp_path, SWEEP_OF_A)
    db = tmp_path / "ledger.sqlite"

    assert flow.badge("Dr. Ana Ruiz") is True  # the tap at the shelf, the count just done
    assert where(db) == {"1": "A-01", "3": "A-02", "4": "A-03", **ON_B_SERIALS}
    assert state_of(db, sid) == ("confirmed", "Dr. Ana Ruiz", "Dr. Ana Ruiz"), "it is done"
    assert not [a for a in keeper.alarms.live() if a.kind is AlarmKind.DISCREPANCY]
    [answer] = confirmed_answers(keeper)
    assert (answer["by"], answer["adjustments"]) == ("Dr. Ana Ruiz", 1)
    assert [(s["serial"], s["slot"], s["why"]) for s in answer["skipped"]] == [
        ("102", "A-02", LEFT.format("B-02")),
        ("103", "A-03", LEFT.format("B-03")),
    ]
    [note] = done[-1].notes
    assert note.startswith(
        f"stocktake {sid} confirmed by Dr. Ana Ruiz's badge: 1 adjustment(s) booked; 2 not booked: "
    ), note
    moved = keeper.db.execute(
        "SELECT serial, kind, reason FROM movements WHERE reference = ? ORDER BY id", (sid,)
    ).fetchall()
    assert [tuple(row) for row in moved] == [("2", "count_adjustment", "stocktake: not found")]

    # Nothing waits: a confirmation after the tap is refused, and moves nothing.
    flow.confirm(sid, "Bo")
    assert where(db) == {"1": "A-01", "3": "A-02", "4": "A-03", **ON_B_SERIALS}
    assert done[-1].refusals == [f"stocktake confirmation refused: stocktake {sid} is confirmed"]
    keeper.close()


def test_a_tap_that_found_only_packs_booked_on_another_shelf_says_it_left_them(
    tmp_path: Path,
) -> None:
    only_b = [[location(1), tag(1), tag(2)], *SWEEP_OF_A[1:]]
    keeper, flow, sid, done = swept(tmp_path, only_b)

    assert flow.badge("Dr. Ana Ruiz") is True
    assert where(tmp_path / "ledger.sqlite") == {
        "1": "A-01",
        "2": "A-01",
        "3": "A-02",
        "4": "A-03",
        **ON_B_SERIALS,
    }
    [note] = done[-1].notes
    assert note == (
        f"stocktake {sid} confirmed by Dr. Ana Ruiz's badge: 0 adjustment(s) booked; 2 not "
        f"booked: {pack(102).gtin}/102 in A-02 ({LEFT.format('B-02')}); "
        f"{pack(103).gtin}/103 in A-03 ({LEFT.format('B-03')})"
    )
    assert "the rest" not in note
    assert not keeper.alarms.live()
    keeper.close()


def test_a_confirmation_by_command_moves_every_pack_booked_on_another_shelf(
    tmp_path: Path,
) -> None:
    """The pharmacist looked on B and did not find them: confirming moves them all here."""
    keeper, flow, sid, _ = swept(tmp_path, SWEEP_OF_A)
    db = tmp_path / "ledger.sqlite"

    flow.confirm(sid, "Dr. Ana Ruiz")
    assert where(db) == {"1": "A-01", "3": "A-02", "4": "A-03", "102": "A-02", "103": "A-03"}
    assert state_of(db, sid) == ("confirmed", "Dr. Ana Ruiz", "")
    [answer] = confirmed_answers(keeper)
    assert (answer["adjustments"], answer["skipped"]) == (3, [])
    keeper.close()


async def test_on_the_daemon_a_tap_ends_the_count_and_its_lights_and_the_report_says_what_it_left(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    controllers = ShelfControllerSimulator(slots=4, device_ids=(1, 2))
    await controllers.start()
    shelves = [{**s, "port": controllers.port} for s in SHELVES["shelves"]]
    activity: list[Activity] = []
    rig = running_daemon(tmp_path, broker, {"shelves": shelves}, ON_B, activity)
    try:
        async with rig as (gateway, handheld, db):
            centre = subscribe(f"{PREFIX}/cmd-result", f"{PREFIX}/alarms/#")

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
            [tapped] = await eventually(lambda: answers(centre, "confirmed"), what="confirmed")
            assert tapped["adjustments"] == 1
            assert [s["serial"] for s in tapped["skipped"]] == ["102", "103"]
            dark = {"A-01": DARK, "A-02": DARK, "A-03": DARK, "B-02": DARK}
            await eventually(lambda: lit(dark), what="the lights out")
            assert where(db) == {"1": "A-01", "3": "A-02", "4": "A-03", **ON_B_SERIALS}
            assert state_of(db, sid) == ("confirmed", "Dr. Ana Ruiz", "Dr. Ana Ruiz")
            assert any(
                f"stocktake {sid} confirmed by Dr. Ana Ruiz's badge: 1 adjustment(s)" in a.text
                for a in activity
            )
            alarm = f"{PREFIX}/alarms/discrepancy-A"
            await eventually(
                lambda: any(m.topic == alarm and not m.payload for m in centre.drain()),
                what="the discrepancy alarm cleared",
            )

            # The report says whose badge confirmed it and what it left where.
            report = await CliRun.start("stocktake", "report", sid, "--db", str(db))
            assert await report.finish() == 0, report.errors
            assert any(
                line.startswith(
                    "confirmed by Dr. Ana Ruiz's badge at the shelf; left where the ledger has "
                    "them (booked on another shelf, maybe read through from there: count that "
                    "shelf to be sure): "
                )
                and "/102 (ledger B-02)" in line
                and "/103 (ledger B-03)" in line
                for line in report.lines
            ), report.lines
            assert not any("waiting for a look" in line for line in report.lines)
            # One answer for the count: nothing else waits to be confirmed.
            assert len(answers(centre, "confirmed")) == 1
    finally:
        await controllers.stop()
