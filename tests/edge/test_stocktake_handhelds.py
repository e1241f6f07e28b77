"""A sweep is its own handheld's: another handheld down (on its charger, unplugged) neither
holds the sweep open nor abandons it; another handheld's reads and rounds (a clerk picking at
the next shelf) never reach it; a handheld picking for open pick lists is not taken by a sweep
begun by command, which is refused when no handheld is free to count, and what it reads with a
shelf's location tags is not picked either."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Collection, Mapping
from pathlib import Path

from edge.clock import Clock
from edge.daemon.stocktake_flow import StocktakeFlow
from edge.demo.local_broker import LocalBroker
from edge.settings.config import parse_config
from firmware_sim.chafon_sim import ChafonSimulator
from inventory.changes import Change, FinishStocktake, Refuse, StocktakeStarted
from inventory.codes.identifiers import EpcDecoder, PackId
from inventory.site_calendar import SiteCalendar
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.test_stocktake_shelf_change import SHELVES, b_location
from tests.edge.test_stocktake_sweep import (
    PREFIX,
    answers,
    location,
    pack,
    running_daemon,
    tag,
)


def flow(
    tmp_path: Path,
    changes: list[Change],
    open_lists: Callable[[], Collection[str]] = frozenset,
    handhelds: tuple[str, ...] = (),
) -> StocktakeFlow:
    config = parse_config(
        {
            "site": "s1",
            "gateway": "g1",
            "database": str(tmp_path / "ledger.sqlite"),
            "stocktake": {"idle_end_seconds": 0.3, "handheld_wait_seconds": 0.6},
            "readers": [
                {"name": name, "protocol": "chafon", "role": "handheld", "port": name}
                for name in handhelds
            ],
            "shelves": [{"name": "A", "host": "127.0.0.1", "slots": 4, "gln": "4012345000016"}],
        }
    )
    clock = Clock()

    def lists() -> Mapping[str, str]:  # id -> the scanner it takes; ids alone: any scanner
        found = open_lists()
        return found if isinstance(found, Mapping) else dict.fromkeys(found, "")

    return StocktakeFlow(
        config, changes.append, lambda _: None, lists, clock, SiteCalendar(None, clock.now)
    )


def picked(sweeps: StocktakeFlow, reader: str, *reads: bytes) -> list[PackId]:
    """One round of `reader` reading `reads`: the pack reads of it that are picks."""
    decode = EpcDecoder().decode
    for read in reads:
        sweeps.read(decode(read), 0, "", reader)
    return sweeps.round_done("", reader)


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


def test_a_sweep_by_command_leaves_a_picking_handheld_to_its_pick_lists(tmp_path: Path) -> None:
    changes: list[Change] = []
    sweeps = flow(tmp_path, changes, lambda: {"p-1"}, ("hh-1", "hh-2"))  # a pick list open
    decode = EpcDecoder().decode
    assert picked(sweeps, "hh-1", tag(9)) == [pack(9)], "a pick read, for the pick list"
    sweeps.start("A", "Ana")
    assert [type(c) for c in changes] == [StocktakeStarted]
    # The picker holds its handheld to shelf A: it does not count it, nor pick from it.
    assert picked(sweeps, "hh-1", location(1), tag(1)) == []
    assert sweeps.read(decode(location(1)), 0, "Ana", "hh-2"), "the free handheld counts"
    assert picked(sweeps, "hh-1", tag(9)) == [pack(9)], "the picker picks on"
    sweeps.end()
    [ended] = [c for c in changes if isinstance(c, FinishStocktake)]
    assert ended.sweep.packs == {}, "the picker's reads were counted"


def test_a_sweep_by_command_is_refused_while_the_only_handheld_picks(tmp_path: Path) -> None:
    changes: list[Change] = []
    lists = {"p-1"}
    sweeps = flow(tmp_path, changes, lambda: lists, ("hh",))
    decode = EpcDecoder().decode
    assert picked(sweeps, "hh", tag(9)) == [pack(9)], "a pick read, for the pick list"
    sweeps.start("A", "Ana")
    [refused] = changes
    assert isinstance(refused, Refuse) and sweeps.sweep is None
    assert refused.error == (
        "no handheld to count with: hh read for the open pick lists, and a handheld counts or "
        "picks, not both; finish or cancel the pick lists, then start the count"
    )
    lists = set()  # the pick lists done
    sweeps.start("A", "Ana")
    assert isinstance(changes[-1], StocktakeStarted)
    assert sweeps.read(decode(location(1)), 0, "Ana", "hh")


async def test_another_handhelds_rounds_at_the_next_shelf_neither_end_nor_feed_the_sweep(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    other = ChafonSimulator(link=tmp_path / "other", scan_time=0.01)
    await other.start()
    handhelds = {
        "readers": [
            {
                "name": "hh",
                "protocol": "chafon",
                "role": "handheld",
                "port": str(tmp_path / "handheld"),
            },
            {"name": "hh-2", "protocol": "chafon", "role": "handheld", "port": other.port},
        ],
        **SHELVES,
    }
    try:
        async with running_daemon(tmp_path, broker, handhelds, {8: "B-02"}) as (_, hh, _):
            centre = subscribe(f"{PREFIX}/cmd-result")
            start = with_envelope({"shelf": "A", "by": "Ana"})
            centre.publish(f"{PREFIX}/cmd/stocktake-start", json.dumps(start))
            [started] = await eventually(lambda: answers(centre, "started"), what="started")
            await hh.sweep([[location(1), tag(1), tag(2)], [location(2), tag(3)]], dwell=0.3)
            # A clerk at shelf B with the other handheld, round after round, while Ana walks on.
            other.present([b_location(2), tag(8)])
            await eventually(lambda: other.inventories > 20, what="the other handheld's rounds")
            await hh.sweep([[location(3), tag(4)], [location(4)]], dwell=0.3)
            other.present(())  # the clerk done (else their reads would begin a sweep of B)
            rounds = other.inventories
            await eventually(lambda: other.inventories > rounds + 2, what="an empty field")
            end = with_envelope({"stocktake_id": started["stocktake_id"]})
            centre.publish(f"{PREFIX}/cmd/stocktake-end", json.dumps(end))
            [ended] = await eventually(lambda: answers(centre, "ended"), what="the count")
    finally:
        await other.stop()
    assert len(answers(centre, "started")) == 1, "shelf B's sweep begun from the other's reads"
    assert ended["stocktake_id"] == started["stocktake_id"]
    assert ended["summary"] == {
        "slots": 4,
        "expected": 4,
        "seen": 4,
        "missing": 0,
        "unexpected": 0,
        "misplaced": 0,
    }
