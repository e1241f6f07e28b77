"""A run whose clock was weeks ahead stamped the ledger in the future; NTP has corrected the
clock since, so the daemon starts with its clock behind the ledger's newest stamp and holds the
expiry sweep (`clock_behind`), for as long as the clock had been ahead. A person who has
checked the clock ends that by acknowledging the alarm (`cmd/alarm-ack`, as `rxedge alarms ack`
and the web page's Acknowledge send it): the sweep runs at once, the alarm clears, and the log
names who let it go."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker
from edge.settings.config import parse_config
from inventory.apply import apply
from inventory.changes import ExpirySweep
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from inventory.site_calendar import SiteCalendar
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually, subscribed

PREFIX = "rxedge/v1/s1/g1"
GTIN = "04012345123456"
CLOCK = "clock_behind-wall_clock"
AHEAD = timedelta(days=40)


def stocked_by_a_clock_ahead(db: Path) -> None:
    """The ledger as a run whose clock read 40 days ahead left it: its sweep held GOOD (20
    days left, truly) as expired; OLD, expired yesterday, came in after that sweep."""
    today = SiteCalendar().today()
    ahead = SiteCalendar(clock=lambda: datetime.now(UTC) + AHEAD)
    keeper = InventoryKeeper(db, {}, "s1", "g1", ahead)

    def receive(batch: str, expiry: str, slot: str) -> None:
        keeper.commit(
            [Movement(MovementKind.RECEIVE, GTIN, 2, batch=batch, expiry=expiry, to_slot=slot)]
        )

    receive("GOOD", (today + timedelta(days=20)).isoformat(), "A-01")
    apply(keeper, ExpirySweep(7))
    receive("OLD", (today - timedelta(days=1)).isoformat(), "A-02")
    keeper.close()


def kinds_of(db: Path, batch: str) -> list[str]:
    with sqlite3.connect(db) as ledger:
        rows = ledger.execute("SELECT kind FROM movements WHERE batch = ? ORDER BY id", (batch,))
        return [str(r[0]) for r in rows]


def alarm_state(db: Path, alarm: str) -> str | None:
    with sqlite3.connect(db) as ledger:
        row = ledger.execute("SELECT state FROM alarms WHERE id = ?", (alarm,)).fetchone()
        return None if row is None else str(row[0])


def retained(centre: Subscriber, alarm: str) -> list[bytes]:
    return [m.payload for m in centre.drain() if m.topic == f"{PREFIX}/alarms/{alarm}"]


async def test_acknowledging_clock_behind_takes_the_clock_as_right_and_sweeps(
    tmp_path: Path,
    broker: LocalBroker,
    subscribe: Callable[..., Subscriber],
    caplog: pytest.LogCaptureFixture,
) -> None:
    db = tmp_path / "ledger.sqlite"
    stocked_by_a_clock_ahead(db)
    assert kinds_of(db, "GOOD") == ["receive", "quarantine"]
    config = parse_config(
        {"site": "s1", "gateway": "g1", "database": str(db), "broker": {"url": broker.url}}
    )
    centre = subscribe(f"{PREFIX}/alarms/#", f"{PREFIX}/cmd-result")
    caplog.set_level(logging.INFO, logger="edge.daemon.alarm_watch")

    gateway = Gateway(config, observer=lambda _activity: None)
    task = asyncio.create_task(gateway.run())
    try:
        await eventually(gateway.ready.is_set)
        await subscribed(gateway)
        await eventually(lambda: alarm_state(db, CLOCK) == "raised", what="clock_behind raised")
        [raised] = await eventually(lambda: retained(centre, CLOCK), what="the alarm published")
        assert json.loads(raised)["detail"]["newest_stamp"] > json.loads(raised)["raised_at"]
        assert kinds_of(db, "OLD") == ["receive"], "no sweep on a clock behind the ledger"
        body = with_envelope({"alarm_id": CLOCK, "by": "Ana Ruiz"})
        centre.publish(f"{PREFIX}/cmd/alarm-ack", json.dumps(body))
        await eventually(
            lambda: kinds_of(db, "OLD") == ["receive", "quarantine"],
            timeout=15,
            what="the sweep after the acknowledgement",
        )
        assert kinds_of(db, "GOOD") == ["receive", "quarantine", "release"]
        await eventually(lambda: alarm_state(db, CLOCK) == "cleared", what="clock_behind cleared")
        await eventually(lambda: retained(centre, CLOCK)[-1:] == [b""], what="cleared retained")
        said = [r.getMessage() for r in caplog.records]
        assert any(s.startswith("Ana Ruiz acknowledged clock_behind") for s in said), said
    finally:
        gateway.stop()
        await asyncio.wait_for(task, 10)
