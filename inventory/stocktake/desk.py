"""Stocktakes on the ledger's writer thread: a finished sweep reconciled and kept, its
discrepancy alarm, its EPCIS events, and the count adjustments a pharmacist confirms.

A report judges only the slots its sweep passed. It waits in `stocktakes` until confirmed, or
until every slot it judges is counted again (it is then superseded: the newer counts are what
the shelf holds; `waiting`). Confirming books each difference still true of the ledger in the
slots it judges (`adjustments`); what the ledger moved since the count, and what another count
of the shelf saw elsewhere (`waiting.to_book`), is skipped, and the answer says which and why.
A badge tap confirms it too, but leaves the packs found that are booked on another shelf where
the ledger has them (`waiting.left_by_tap`): a tap cannot look whether they were read through.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Collection
from datetime import datetime

from inventory.alarms.book import AlarmBook
from inventory.alarms.lifecycle import AlarmKind
from inventory.ledger.commit import Commit
from inventory.ledger.free_ids import first_free
from inventory.ledger.outbox import MessageKind, OutboxMessage
from inventory.picking.ledger_access import DeskLedger
from inventory.picking.outcome import Outcome
from inventory.picking.results import message
from inventory.stock.held_packs import back_alarms
from inventory.stocktake.adjustments import (
    adjustments,
    last_movement,
    not_booked,
    touched_since,
)
from inventory.stocktake.epcis import count_events
from inventory.stocktake.reconcile import reconcile
from inventory.stocktake.report import StocktakeReport
from inventory.stocktake.sweep import Sweep
from inventory.stocktake.waiting import (
    confirmed_after,
    discrepancy,
    left_by_tap,
    take_over,
    to_book,
    waiting,
)


class StocktakeDesk:
    """Reconciles sweeps and books what a pharmacist confirms."""

    def __init__(
        self,
        keeper: DeskLedger,
        alarms: AlarmBook,
        site: str,
        recalled: Callable[[], Collection[tuple[str, str]]],
    ):
        self._keeper = keeper
        self._alarms = alarms
        self._site = site
        self._recalled = recalled  # (GTIN, batch) of the recalled batches

    def started(self, sweep: Sweep) -> Outcome:
        """Report that a sweep began, under an id no kept report has (the sweep takes it, so
        its end, its report and a badge confirming it all name the same one)."""
        keeper = self._keeper
        db = keeper.db
        sweep.stocktake_id = _free_id(db, sweep.stocktake_id)
        sweep.ledger_mark = last_movement(db)
        with keeper.group():  # kept as running: a power cut before its end is told (recover)
            report = StocktakeReport(sweep.stocktake_id, sweep.shelf, sweep.by, [], [])
            _save(db, report, "running", keeper.stamp())
            started = keeper.send_result(
                "stocktake-start",
                sweep.stocktake_id,
                "started",
                stocktake_id=sweep.stocktake_id,
                shelf=sweep.shelf,
                by=sweep.by,
            )
        return Outcome(
            commits=[started],
            notes=[f"stocktake {sweep.stocktake_id} of shelf {sweep.shelf} started ({sweep.by})"],
        )

    def finish(self, sweep: Sweep) -> Outcome:
        """Reconcile a finished sweep: keep its report, raise or clear the shelf's discrepancy
        alarm, queue the report and the EPCIS events."""
        keeper = self._keeper
        index = keeper.index
        lines = index.lines()
        sweep.stocktake_id = _own_id(keeper.db, sweep.stocktake_id)
        touched = touched_since(keeper.db, sweep.ledger_mark)
        moved = touched.epcs | {
            epc for epc, p in sweep.packs.items() if touched.of(epc, p.gtin, p.serial)
        }
        by_code = {(x.gtin, x.serial): x.slot for x in lines if x.serial and not x.epc}
        booked = {
            epc: slot
            for epc, p in sweep.packs.items()
            if (slot := index.slot_of(epc) or by_code.get((p.gtin, p.serial)))
        }
        report = reconcile(
            sweep.stocktake_id,
            sweep.shelf,
            sweep.by,
            sweep.slots,
            sweep.seen(booked),
            sweep.packs,
            [line for line in lines if line.epc],
            [line for line in lines if not line.epc],
            sweep.location_uris,
            frozenset(moved),
            sweep.watched,
            sweep.passed,
        )
        report.ledger_mark = last_movement(keeper.db)
        at = keeper.stamp()
        report.counted_at = at
        report.time_zone_offset = keeper.calendar.offset(datetime.fromisoformat(at))
        summary = report.summary()
        messages = [
            _end_answer(at, report, "ended", summary=summary, not_counted=report.not_counted),
            *[
                OutboxMessage(
                    MessageKind.EVENT,
                    json.dumps(event, separators=(",", ":")),
                    key=report.stocktake_id,
                )
                for event in count_events(report, self._site)
            ],
        ]
        out = Outcome()
        with keeper.group():
            # The slots counted again: a report still waiting no longer judges them, and
            # confirming it there would book differences this count contradicts.
            take_over(keeper.db, report)
            _save(keeper.db, report, "ended", at)
            out.commits.append(keeper.send(messages))
            if report.differences:
                # The alarm raised afresh (its acknowledgement gone), naming this count.
                out.commits.append(self._alarms.clear(AlarmKind.DISCREPANCY, report.shelf))
            out.commits.append(self._shelf_alarm(report.shelf))
        skipped = ", ".join(report.not_counted)
        out.notes.append(
            f"stocktake {report.stocktake_id} of shelf {report.shelf}: {summary['seen']} seen of "
            f"{summary['expected']} expected; missing {summary['missing']}, unexpected "
            f"{summary['unexpected']}, misplaced {summary['misplaced']}"
            + (f"; not counted (the sweep did not pass them): {skipped}" if skipped else "")
        )
        if moved:
            out.notes.append(
                f"stocktake {report.stocktake_id}: {len(moved)} pack(s) the ledger moved during "
                "the sweep are not judged by it"
            )
        if report.read_through:
            out.notes.append(
                f"stocktake {report.stocktake_id}: {len(report.read_through)} pack(s) of other "
                "shelves read through, where their fixed readers still see them: not judged"
            )
        out.lights_changed = True
        return out

    def abandon(self, sweep: Sweep, why: str) -> Outcome:
        """Keep a sweep that cannot be finished (its handheld gone too long: what it read is
        no longer what the shelf holds) as abandoned: nothing judged, no alarm, nothing to
        confirm; the shelf is to be swept again."""
        sweep.stocktake_id = _own_id(self._keeper.db, sweep.stocktake_id)
        report = StocktakeReport(sweep.stocktake_id, sweep.shelf, sweep.by, [], [], abandoned=why)
        return Outcome(
            commits=[self._keep_abandoned(report)],
            notes=[f"stocktake {report.stocktake_id} of shelf {report.shelf} abandoned: {why}"],
        )

    def recover(self) -> None:
        """At start: a sweep still running in the file was cut short by a stop or a power cut
        (its reads were in memory only). It is kept as abandoned and the centre told so, as
        for a handheld that never came back: the shelf is to be swept again."""
        keeper = self._keeper
        rows = keeper.db.execute(
            "SELECT stocktake_id, shelf, by FROM stocktakes WHERE state = 'running'"
        ).fetchall()
        why = "the gateway stopped during the sweep (what it read was lost): sweep the shelf again"
        for stocktake_id, shelf, by in rows:
            self._keep_abandoned(StocktakeReport(stocktake_id, shelf, by, [], [], abandoned=why))

    def _keep_abandoned(self, report: StocktakeReport) -> Commit:
        """Keep `report` (of a sweep that judged nothing) as abandoned, now, with its reason,
        in place of its sweep's running row, and tell the centre so."""
        keeper = self._keeper
        report.counted_at = at = keeper.stamp()
        report.time_zone_offset = keeper.calendar.offset(datetime.fromisoformat(at))
        with keeper.group():
            _save(keeper.db, report, "abandoned", at)
            return keeper.send([_end_answer(at, report, "abandoned", reason=report.abandoned)])

    def confirm(self, stocktake_id: str, by: str, tap: bool = False) -> Outcome:
        """Book a report's differences as count adjustments and moves, by `by`; by `tap`, a
        badge tapped at the shelf, all but the packs found that are booked on another shelf,
        left where the ledger has them (`left_by_tap`)."""
        keeper, out = self._keeper, Outcome()
        found = _load(keeper.db, stocktake_id)
        if found is None or found[0] != "ended":
            state = found[0] if found else None
            error = (
                f"stocktake {stocktake_id} is {state}" if state else f"no stocktake {stocktake_id}"
            )
            if found is not None and state == "superseded":
                error += (
                    f": shelf {found[1].shelf} was counted again since; confirm its latest "
                    "count, or sweep again"
                )
            out.commits.append(
                keeper.send_result("stocktake-confirm", stocktake_id, "error", error=error)
            )
            out.refusals.append(f"stocktake confirmation refused: {error}")
            return out
        report = found[1]
        others = [r for r in waiting(keeper.db, report.shelf) if r.stocktake_id != stocktake_id]
        part, left = left_by_tap(report) if tap else (report, [])
        judged, held = to_book(part, others, confirmed_after(keeper.db, report))
        booking = adjustments(keeper, judged, by, out, self._recalled())
        movements = booking.movements
        skipped = [s.to_dict() for s in (*held, *booking.skipped, *left)]
        with keeper.group():
            answer = message(
                keeper.stamp(),
                "stocktake-confirm",
                stocktake_id,
                "confirmed",
                stocktake_id=stocktake_id,
                by=by,
                adjustments=len(movements),
                skipped=skipped,
            )
            out.commits.append(keeper.commit(movements, messages=[answer]))
            for pack, hold in booking.found:  # what its absence raised ends, as for a reader
                epc = str(pack.epc)
                out.commits += back_alarms(keeper, self._alarms, epc, pack.gtin, pack.batch, hold)
            report.tapped_by = by if tap else ""
            keeper.db.execute(
                "UPDATE stocktakes SET state = 'confirmed', confirmed_by = ?, confirmed_at = ?,"
                " report = ? WHERE stocktake_id = ?",
                (
                    by,
                    keeper.stamp(),
                    json.dumps(report.to_dict(), separators=(",", ":")),
                    stocktake_id,
                ),
            )
            out.commits.append(self._shelf_alarm(report.shelf))
        unbooked, who = not_booked(skipped), f"{by}'s badge" if tap else by
        out.notes.append(
            f"stocktake {stocktake_id} confirmed by {who}: {len(movements)} adjustment(s) booked"
            + (f"; {unbooked}" if unbooked else "")
        )
        out.lights_changed = True
        return out

    def _shelf_alarm(self, shelf: str) -> Commit:
        """The shelf's discrepancy alarm as its waiting counts say: raised (or brought up to
        date) while one has a difference in a slot it judges, else cleared."""
        detail = discrepancy(waiting(self._keeper.db, shelf))
        if detail is None:
            return self._alarms.clear(AlarmKind.DISCREPANCY, shelf)
        return self._alarms.keep_raised(AlarmKind.DISCREPANCY, shelf, detail)


def _end_answer(at: str, report: StocktakeReport, status: str, **fields: object) -> OutboxMessage:
    """The `stocktake-end` answer for a sweep's report: `ended` or `abandoned`."""
    return message(
        at,
        "stocktake-end",
        report.stocktake_id,
        status,
        stocktake_id=report.stocktake_id,
        shelf=report.shelf,
        **fields,
    )


def _free_id(db: sqlite3.Connection, stocktake_id: str) -> str:
    """`stocktake_id`, or with -2, -3, ... when a report already has it (the clock set back
    to the second of an earlier sweep): a report is never written over another."""

    def taken(name: str) -> bool:
        found = db.execute("SELECT 1 FROM stocktakes WHERE stocktake_id = ?", (name,))
        return found.fetchone() is not None

    return first_free(stocktake_id, taken)


def _own_id(db: sqlite3.Connection, stocktake_id: str) -> str:
    """The id a sweep took at its start (its running row), or a free one for a sweep that has
    no row."""
    row = db.execute("SELECT state FROM stocktakes WHERE stocktake_id = ?", (stocktake_id,))
    found = row.fetchone()
    return (
        stocktake_id if found is not None and found[0] == "running" else _free_id(db, stocktake_id)
    )


def _save(db: sqlite3.Connection, report: StocktakeReport, state: str, at: str) -> None:
    """Keep the report in `state`, in place of its sweep's running row."""
    db.execute(
        "DELETE FROM stocktakes WHERE stocktake_id = ? AND state = 'running'",
        (report.stocktake_id,),
    )
    db.execute(
        "INSERT INTO stocktakes (stocktake_id, shelf, by, ended_at, state, report)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            report.stocktake_id,
            report.shelf,
            report.by,
            at,
            state,
            json.dumps(report.to_dict(), separators=(",", ":")),
        ),
    )


def _load(db: sqlite3.Connection, stocktake_id: str) -> tuple[str, StocktakeReport] | None:
    row = db.execute(
        "SELECT state, report FROM stocktakes WHERE stocktake_id = ?", (stocktake_id,)
    ).fetchone()
    if row is None:
        return None
    return str(row[0]), StocktakeReport.from_dict(json.loads(row[1]))
