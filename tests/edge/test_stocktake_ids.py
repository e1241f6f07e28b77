"""Stocktake ids name the shelf and the site's local second a sweep began; a second sweep
begun in the same second gets its own id, so no report is taken for another's."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from edge.clock import Clock
from edge.daemon.stocktake_flow import StocktakeFlow
from edge.settings.config import parse_config
from inventory.changes import Change, StocktakeStarted
from inventory.site_calendar import SiteCalendar


class StoppedClock(Clock):
    """A wall clock that does not move (the monotonic one does)."""

    def now(self) -> datetime:
        return datetime(2026, 12, 5, 9, 30, 15, 250_000, tzinfo=UTC)


def test_sweeps_begun_in_one_second_get_ids_of_their_own(tmp_path: Path) -> None:
    config = parse_config(
        {
            "site": "s1",
            "gateway": "g1",
            "database": str(tmp_path / "ledger.sqlite"),
            "timezone": "Europe/Berlin",
            "shelves": [
                {"name": "A", "host": "127.0.0.1", "slots": 4, "gln": "4012345000016"},
                {
                    "name": "B",
                    "host": "127.0.0.1",
                    "device_id": 2,
                    "slots": 4,
                    "gln": "4012345000023",
                },
            ],
        }
    )
    clock = StoppedClock()
    changes: list[Change] = []
    flow = StocktakeFlow(
        config,
        changes.append,
        lambda _activity: None,
        dict,
        clock,
        SiteCalendar.named("Europe/Berlin", clock.now),
    )
    for shelf in ("A", "A", "B", "A"):
        flow.start(shelf, "Ana")
        flow.end()
    started = [c.sweep.stocktake_id for c in changes if isinstance(c, StocktakeStarted)]
    second = "20261205T103015"  # 09:30:15 UTC is 10:30:15 in Berlin
    assert started == [f"st-A-{second}", f"st-A-{second}-2", f"st-B-{second}", f"st-A-{second}-3"]
