"""A sweep waits for its own handheld only: another handheld down (on its charger, unplugged)
neither holds the sweep open nor abandons it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from edge.clock import Clock
from edge.daemon.stocktake_flow import StocktakeFlow
from edge.settings.config import parse_config
from inventory.changes import Change, FinishStocktake
from inventory.codes.identifiers import EpcDecoder
from inventory.site_calendar import SiteCalendar
from tests.conftest import eventually
from tests.edge.test_stocktake_sweep import location, tag


def flow(tmp_path: Path, changes: list[Change]) -> StocktakeFlow:
    config = parse_config(
        {
            "site": "s1",
            "gateway": "g1",
            "database": str(tmp_path / "ledger.sqlite"),
            "stocktake": {"idle_end_seconds": 0.3, "handheld_wait_seconds": 0.6},
            "shelves": [{"name": "A", "host": "127.0.0.1", "slots": 4, "gln": "4012345000016"}],
        }
    )
    clock = Clock()
    return StocktakeFlow(
        config, changes.append, lambda _: None, lambda: False, clock, SiteCalendar(None, clock.now)
    )


async def test_a_sweep_is_not_held_or_abandoned_by_another_handheld_that_is_down(
    tmp_path: Path,
) -> None:
    changes: list[Change] = []
    sweeps = flow(tmp_path, changes)
    watching = asyncio.create_task(sweeps.watch())
    try:
        sweeps.handheld("hh-2", up=False)  # on its charger all along
        decode = EpcDecoder().decode
        for read in (location(1), tag(1), location(2), tag(3)):
            assert sweeps.read(decode(read), -50, "Ana", "hh-1")
        [ended] = await eventually(
            lambda: [c for c in changes if isinstance(c, FinishStocktake)], timeout=5
        )
        assert ended.abandoned == "", "abandoned for a handheld that was not sweeping"
        assert ended.sweep.seen()  # reconciled with what hh-1 read
        # The sweeping handheld itself unplugged: that sweep waits for it, then is abandoned.
        await asyncio.sleep(0.4)  # the handheld quiet: its last sweep's reads are done
        for read in (location(1), tag(1)):
            assert sweeps.read(decode(read), -50, "Ana", "hh-1")
        sweeps.handheld("hh-1", up=False)
        [gone] = await eventually(
            lambda: [c for c in changes if isinstance(c, FinishStocktake)][1:], timeout=5
        )
        assert gone.abandoned.startswith("handheld hh-1 down")
    finally:
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)
