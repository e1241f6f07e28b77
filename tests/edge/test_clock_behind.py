"""A gateway that starts with its wall clock behind its ledger (a Pi without a real-time clock
starts at its last shutdown's time, NTP not reached yet) does not sweep on that wrong date: an
expired batch's alarm is not cleared (its acknowledgement lost) and its packs stay held back.
It raises the `clock_behind` alarm instead, and sweeps once the clock has passed the ledger's
newest stamp, or once a person has acknowledged the alarm (the clock is right): stamps written
by a clock that was ahead then hold no later start back (tests/edge/test_clock_behind_ack.py:
the acknowledgement sent as a command to the running daemon)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge.daemon.alarm_watch import expiry_sweeps
from edge.settings.config import AlarmsConfig
from inventory.alarms.lifecycle import AlarmKind
from inventory.apply import apply
from inventory.changes import AckAlarm, Change, ExpirySweep
from inventory.keeper import InventoryKeeper
from inventory.ledger.commit import iso
from inventory.ledger.movements import Movement, MovementKind, StockStatus
from inventory.site_calendar import SiteCalendar
from sync.contract import check_topic

GTIN = "04012345123456"
EXPIRED = f"expired-{GTIN}_OLD"
CLOCK = "clock_behind-wall_clock"
LAST_RUN = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
BOOTED = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)  # five weeks behind
NTP_AT = BOOTED + timedelta(minutes=30)  # ... until NTP sets it, to a little after the last run
SET_TO = LAST_RUN + timedelta(minutes=5)


class Swept(Exception):
    """The sweep after the clock was set has run."""


def alarm_rows(db: Path) -> dict[str, tuple[str, str, str | None]]:
    """Every alarm in the ledger file: id -> (state, raised_at, acknowledged_by)."""
    with sqlite3.connect(db) as ledger:
        rows = ledger.execute("SELECT id, state, raised_at, acknowledged_by FROM alarms")
        return {str(r[0]): (str(r[1]), str(r[2]), r[3]) for r in rows}


async def test_a_clock_behind_the_ledger_holds_the_sweep_until_it_is_set(tmp_path: Path) -> None:
    now = [LAST_RUN]
    calendar = SiteCalendar(ZoneInfo("Europe/Berlin"), lambda: now[0])
    db = tmp_path / "ledger.sqlite"
    keeper = InventoryKeeper(db, {}, "s", "g", calendar)
    keeper.commit(
        [Movement(MovementKind.RECEIVE, GTIN, 3, batch="OLD", expiry="2026-11-16", to_slot="A-01")]
    )
    apply(keeper, ExpirySweep(30))
    apply(keeper, AckAlarm(EXPIRED, "Ana Ruiz"))
    keeper.close()
    before = alarm_rows(db)[EXPIRED]
    assert before[0] == "acknowledged"

    now[0] = BOOTED
    keeper = InventoryKeeper(db, {}, "s", "g", calendar)
    changes: list[tuple[datetime, Change]] = []
    seen_while_behind: list[dict[str, tuple[str, str, str | None]]] = []

    async def submit(change: Change) -> None:
        changes.append((now[0], change))
        apply(keeper, change)
        if isinstance(change, ExpirySweep):
            raise Swept

    async def ask(question: Callable[[InventoryKeeper], object]) -> object:
        return question(keeper)

    async def sleep(seconds: float) -> None:
        assert 0 < seconds <= 60.0
        if now[0] < NTP_AT <= now[0] + timedelta(seconds=seconds):
            seen_while_behind.append(alarm_rows(db))
            now[0] = SET_TO
        else:
            now[0] += timedelta(seconds=seconds)

    try:
        with pytest.raises(Swept):
            await expiry_sweeps(submit, AlarmsConfig(near_expiry_days=30), calendar, ask, sleep)
        [(swept_at, _)] = [(at, c) for at, c in changes if isinstance(c, ExpirySweep)]
        assert swept_at == SET_TO, "no sweep while the clock read a date five weeks back"
        [behind] = seen_while_behind
        assert behind[CLOCK][0] == "raised"
        assert behind[EXPIRED] == before, "the expired alarm, acknowledged, left as it was"
        [line] = keeper.index.lines()
        assert line.status is StockStatus.QUARANTINED
        after = alarm_rows(db)
        assert after[EXPIRED] == before, "the same alarm, still acknowledged: not raised anew"
        assert after[CLOCK][0] == "cleared"
        assert not any(a.kind is AlarmKind.NEAR_EXPIRY for a in keeper.alarms.live())
        with sqlite3.connect(db) as ledger:
            [(payload,)] = ledger.execute(
                "SELECT payload FROM outbox WHERE key = ? AND payload != '' ORDER BY id", (CLOCK,)
            )
        assert check_topic(f"rxedge/v1/s/g/alarms/{CLOCK}", payload) == []
        detail = json.loads(payload)["detail"]
        assert detail == {"clock": "2026-11-01T09:00:00.000Z", "newest_stamp": iso(LAST_RUN)}
    finally:
        keeper.close()


async def test_a_clock_past_the_ledger_sweeps_at_once(tmp_path: Path) -> None:
    now = [LAST_RUN]
    calendar = SiteCalendar(ZoneInfo("Europe/Berlin"), lambda: now[0])
    db = tmp_path / "ledger.sqlite"
    keeper = InventoryKeeper(db, {}, "s", "g", calendar)
    keeper.commit(
        [Movement(MovementKind.RECEIVE, GTIN, 1, batch="B", expiry="2027-01-01", to_slot="A-01")]
    )
    keeper.close()
    now[0] += timedelta(seconds=1)
    keeper = InventoryKeeper(db, {}, "s", "g", calendar)
    asked: list[Change] = []

    async def submit(change: Change) -> None:
        asked.append(change)
        apply(keeper, change)
        if isinstance(change, ExpirySweep):
            raise Swept

    async def ask(question: Callable[[InventoryKeeper], object]) -> object:
        return question(keeper)

    async def sleep(_seconds: float) -> None:
        raise AssertionError("waited with the clock past the ledger's newest stamp")

    try:
        with pytest.raises(Swept):
            await expiry_sweeps(submit, AlarmsConfig(), calendar, ask, sleep)
        assert not any(a.kind is AlarmKind.CLOCK_BEHIND for a in keeper.alarms.live())
    finally:
        keeper.close()


async def test_stamps_a_person_let_go_do_not_hold_the_sweep_at_the_next_start(
    tmp_path: Path,
) -> None:
    """The clock was five weeks ahead when the last movement was stamped; the sweep after the
    acknowledgement moves nothing (nothing has expired), so that movement stays the newest."""
    now = [LAST_RUN]
    calendar = SiteCalendar(ZoneInfo("Europe/Berlin"), lambda: now[0])
    db = tmp_path / "ledger.sqlite"
    keeper = InventoryKeeper(db, {}, "s", "g", calendar)
    keeper.commit(
        [Movement(MovementKind.RECEIVE, GTIN, 1, batch="B", expiry="2030-01-31", to_slot="A-01")]
    )
    keeper.close()
    now[0] = BOOTED  # the right time, NTP has set it
    keeper = InventoryKeeper(db, {}, "s", "g", calendar)
    sleeps: list[float] = []

    async def submit(change: Change) -> None:
        apply(keeper, change)
        if isinstance(change, ExpirySweep):
            raise Swept

    async def ask(question: Callable[[InventoryKeeper], object]) -> object:
        return question(keeper)

    async def acknowledged_meanwhile(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += timedelta(seconds=seconds)
        if len(sleeps) == 3:
            apply(keeper, AckAlarm(CLOCK, "Ana Ruiz"))

    async def never(_seconds: float) -> None:
        raise AssertionError("waited for a clock a person has vouched for")

    try:
        with pytest.raises(Swept):
            await expiry_sweeps(submit, AlarmsConfig(), calendar, ask, acknowledged_meanwhile)
        assert len(sleeps) == 3, "the acknowledgement ends the wait at the next wake"
        assert alarm_rows(db)[CLOCK][0] == "cleared"
        with sqlite3.connect(db) as ledger:
            [movement_at] = ledger.execute("SELECT at FROM movements").fetchone()
        assert movement_at == iso(LAST_RUN), "the newest movement is still the one from ahead"
        keeper.close()
        now[0] += timedelta(minutes=10)
        keeper = InventoryKeeper(db, {}, "s", "g", calendar)
        with pytest.raises(Swept):
            await expiry_sweeps(submit, AlarmsConfig(), calendar, ask, never)
        assert CLOCK not in {a.id for a in keeper.alarms.live()}
    finally:
        keeper.close()
