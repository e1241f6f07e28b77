"""The sync backlog alarm over a real mosquitto: raised while messages pile up with the broker
away (too many, or waiting too long), cleared once the broker took them, and judged on a clock
that an NTP step of the wall clock does not move."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from edge.daemon import alarm_watch
from edge.daemon.alarm_watch import WaitingAge
from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker
from edge.settings.config import parse_config
from inventory.changes import Book
from tests.clocks import SteppedClock
from tests.conftest import eventually
from tests.edge.procurement_rig import (
    change,
    config,
    products,
    stock,
    stop_gateway,
    take_one,
    unsent_requests,
)


@pytest.fixture(autouse=True)
def backlog_checked_every_second(monkeypatch: pytest.MonkeyPatch) -> None:
    """The daemon looks at its backlog every 10 s at most (a quarter of the age limit when that
    is shorter): here every second, so that the tests wait seconds for the checks they count
    on, not tens of them."""
    monkeypatch.setattr(alarm_watch, "BACKLOG_CHECK_SECONDS", 1.0)


def backlog_alarm(db: Path) -> str | None:
    """The sync backlog alarm's state in the ledger file (None: never raised)."""
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT state FROM alarms WHERE kind = 'sync_backlog' ORDER BY raised_at DESC"
        ).fetchone()
    return None if row is None else str(row[0])


class Backlogged:
    """The gateway in-process with `products` short on cue, its broker stopped on `away()`."""

    def __init__(self, broker: LocalBroker, tmp_path: Path, auto: int, **alarms: float):
        self.broker = broker
        self.wanted = products(auto=auto)
        self.db = tmp_path / "ledger.sqlite"
        stock(self.db, self.wanted)
        self.settings = config(self.db, broker.url, self.wanted) | {"alarms": alarms}
        self.clock = SteppedClock()

    async def __aenter__(self) -> Gateway:
        self.gateway = Gateway(parse_config(self.settings), clock=self.clock)
        self.task = asyncio.create_task(self.gateway.run())
        await eventually(self.gateway.ready.is_set, what="gateway ready")
        return self.gateway

    async def __aexit__(self, *_: object) -> None:
        await stop_gateway(self.gateway, self.task)

    async def away(self) -> None:
        """The broker gone, then one pack of each product taken: each runs short, an alarm
        and a request to send."""
        await self.broker.stop()
        for product in self.wanted:
            change(self.gateway, Book((take_one(product["gtin"]),)))
        await eventually(
            lambda: unsent_requests(self.db) == len(self.wanted), what="requests waiting"
        )


async def test_too_many_messages_waiting_raise_the_alarm_and_sending_them_clears_it(
    broker: LocalBroker, tmp_path: Path
) -> None:
    rig = Backlogged(broker, tmp_path, auto=3, backlog_messages=4)
    async with rig:
        await rig.away()
        await eventually(lambda: backlog_alarm(rig.db) == "raised", timeout=15, what="alarm")
        await broker.start()
        await eventually(lambda: unsent_requests(rig.db) == 0, timeout=20, what="sent")
        await eventually(lambda: backlog_alarm(rig.db) == "cleared", timeout=15, what="cleared")


async def test_a_message_waiting_longer_than_the_limit_raises_the_alarm(
    broker: LocalBroker, tmp_path: Path
) -> None:
    rig = Backlogged(broker, tmp_path, auto=1, backlog_age_seconds=2)
    async with rig:
        await rig.away()
        await eventually(lambda: backlog_alarm(rig.db) == "raised", timeout=15, what="alarm")


async def test_a_wall_clock_stepped_forward_raises_no_backlog_alarm(
    broker: LocalBroker, tmp_path: Path
) -> None:
    rig = Backlogged(broker, tmp_path, auto=1, backlog_age_seconds=20)
    rig.settings["metrics"] = {"refresh_seconds": 0.5}  # its figures read from the ledger
    async with rig as gateway:
        await rig.away()
        rig.clock.step(2 * 3600)  # NTP sets the clock of a box that booted without one
        # Wait out two checks (every second here), the alarm judged each time: the request was
        # written seconds ago, not two hours.
        checked = gateway.counters["backlog_checks"]
        await eventually(
            lambda: gateway.counters["backlog_checks"] >= checked + 2, timeout=40, what="checks"
        )
        assert backlog_alarm(rig.db) is None
        # The metric `rxedge status` judges a backlog by measures it the same way, once its
        # figures from the ledger show the message waiting.
        age = await eventually(lambda: oldest_age(gateway), what="the outbox's age measured")
        assert 0 < age < 60, age


def oldest_age(gateway: Gateway) -> float:
    scraped = generate_latest(gateway.metrics.registry).decode()
    (line,) = [x for x in scraped.splitlines() if x.startswith("rxedge_outbox_oldest_age")]
    return float(line.split()[-1])


def test_waiting_age_counts_on_the_monotonic_clock_from_the_first_check_that_saw_a_message() -> (
    None
):
    clock = ManualClock()
    age = WaitingAge(clock)
    written = (clock.now() - timedelta(seconds=100)).isoformat()
    assert age.age((7, written), newest_id=7) == 100  # from before the start: its stamp
    clock.tick(5)
    assert age.age((7, written), newest_id=9) == 105
    clock.step(-3600)  # the wall clock set back an hour changes nothing
    clock.tick(5)
    # 8 and 9 came after the start: dated by the check that first saw them, not their stamps
    assert age.age((8, written), newest_id=9) == 5
    assert age.age((9, clock.now().isoformat()), newest_id=9) == 5
    clock.step(7200)
    clock.tick(20)
    assert age.age((9, "1970-01-01T00:00:00+00:00"), newest_id=12) == 25
    assert age.age((10, clock.now().isoformat()), newest_id=12) == 0
    assert age.age(None, newest_id=12) == 0


class ManualClock(SteppedClock):
    """A wall clock that steps and a monotonic clock that moves only when told."""

    def __init__(self) -> None:
        super().__init__()
        self._monotonic = 1000.0
        self._wall = datetime(2026, 12, 6, 9, 0, tzinfo=datetime.now().astimezone().tzinfo)

    def tick(self, seconds: float) -> None:
        self._monotonic += seconds
        self._wall += timedelta(seconds=seconds)

    def monotonic(self) -> float:
        return self._monotonic

    def now(self) -> datetime:
        return self._wall + self.offset
