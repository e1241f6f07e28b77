"""A sweep of a shelf is never taken as picking, on the running daemon (mosquitto, a pty
handheld): a pharmacist sweeping shelves while a pick list is open counts them and picks
nothing, and is told that the list waits; a handheld picking for a list counts nothing, and
what it reads along a shelf is not picked either, which it is told. A round's packs read
before its location tag are the count's too. Both pick by handheld again when they hold a pack
to it (a handheld that counted, once it has been quiet for the idle time)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from edge.daemon.activity import Activity
from edge.demo.local_broker import LocalBroker
from firmware_sim.chafon_sim import ChafonSimulator
from inventory.changes import Change, FinishStocktake
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually, subscribed
from tests.edge.test_stocktake_handhelds import flow, picked
from tests.edge.test_stocktake_shelf_change import SHELVES, b_location
from tests.edge.test_stocktake_sweep import PREFIX, answers, location, pack, running_daemon, tag

QUIET = {"stocktake": {"idle_end_seconds": 1.0}}


def open_list(centre: Subscriber, pick_id: str, quantity: int) -> None:
    lines = [{"gtin": pack(1).gtin, "quantity": quantity}]  # every pack here is of this GTIN
    pick = with_envelope({"pick_id": pick_id, "lines": lines})
    centre.publish(f"{PREFIX}/cmd/pick", json.dumps(pick))


async def opened(centre: Subscriber, pick_id: str, quantity: int) -> None:
    """Open pick list `pick_id` and wait until the gateway has accepted it."""
    open_list(centre, pick_id, quantity)
    await eventually(lambda: statuses(centre, pick_id) == ["accepted"], what=f"{pick_id} open")


def statuses(centre: Subscriber, pick_id: str) -> list[str]:
    return [r["status"] for r in centre.payloads("/cmd-result") if r["command_id"] == pick_id]


def picks(db: Path) -> list[str]:
    with sqlite3.connect(db) as ledger:
        return [s for (s,) in ledger.execute("SELECT serial FROM movements WHERE kind = 'pick'")]


async def rounds_after(handheld: ChafonSimulator) -> None:
    """Wait for a few more rounds of the handheld: what it read before is dealt with."""
    done = handheld.inventories
    await eventually(lambda: handheld.inventories > done + 3, what="the handheld's rounds")


async def test_sweeping_shelves_while_a_pick_list_is_open_counts_them_and_picks_nothing(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    said: list[Activity] = []
    stock = {7: "B-01", 8: "B-02"}
    async with running_daemon(tmp_path, broker, {**QUIET, **SHELVES}, stock, said) as running:
        gateway, handheld, db = running
        await subscribed(gateway)
        centre = subscribe(f"{PREFIX}/cmd-result")
        await opened(centre, "rx-1", 2)  # any scanner or handheld may confirm it
        # The pharmacist sweeps shelf A, then walks on to shelf B.
        shelf_a = [[location(1), tag(1), tag(2)], [location(2), tag(3)], [location(3), tag(4)]]
        shelf_b = [[b_location(1), tag(7)], [b_location(2), tag(8)], [b_location(3)]]
        await handheld.sweep([*shelf_a, [location(4)], *shelf_b, [b_location(4)]], dwell=0.3)
        ended = await eventually(lambda: answers(centre, "ended")[1:] and answers(centre, "ended"))
        assert [a["shelf"] for a in answers(centre, "started")] == ["A", "B"]
        for report in ended:
            assert report["summary"]["missing"] == report["summary"]["unexpected"] == 0
        assert statuses(centre, "rx-1") == ["accepted"], "the sweep's reads taken as picks"
        assert picks(db) == []
        told = [a.text for a in said if "not picks for the open pick lists rx-1" in a.text]
        assert [t.split(" (")[0] for t in told] == [
            "handheld hh counts shelf A",
            "handheld hh counts shelf B",
        ]
        assert told[0].endswith(
            "its reads are the count's, not picks for the open pick lists rx-1, until it has "
            "been quiet for 1 s; confirm their packs by button or scanner"
        )
        # Quiet since: a pack held to the handheld is a pick again.
        handheld.present([tag(1)])
        await eventually(lambda: "progress" in statuses(centre, "rx-1"), what="picked by hand")
        assert picks(db) == ["1"]


async def test_a_handheld_picking_neither_counts_a_shelf_nor_picks_along_it(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    said: list[Activity] = []
    async with running_daemon(tmp_path, broker, QUIET, None, said) as (gateway, handheld, db):
        await subscribed(gateway)
        centre = subscribe(f"{PREFIX}/cmd-result")
        await opened(centre, "rx-2", 2)
        handheld.present([tag(1)])  # the first pack, held to the handheld: it picks
        await eventually(lambda: "progress" in statuses(centre, "rx-2"), what="the first pick")
        handheld.present(())
        # Then along shelf A, pack 2 (the one the list still wants) among what it reads.
        await handheld.sweep([[location(1), tag(2)], [location(2), tag(3)]], dwell=0.3)
        await rounds_after(handheld)
        assert statuses(centre, "rx-2") == ["accepted", "progress"], "picked along the shelf"
        assert answers(centre, "started") == [], "a count began with the picking handheld"
        told = [a.text for a in said if a.text.startswith("handheld hh picks")]
        assert told == [
            "handheld hh picks for the open pick lists rx-2 (a handheld counts or picks, not "
            "both): what it reads with shelf A's location tags is neither counted nor picked; "
            "finish or cancel the lists, then sweep the shelf"
        ]
        handheld.present([tag(2)])  # the second pack, held to it: the list is done
        await eventually(lambda: "done" in statuses(centre, "rx-2"), what="the second pick")
        assert picks(db) == ["1", "2"]


def test_packs_read_in_a_round_before_its_location_tag_are_counted_not_picked(
    tmp_path: Path,
) -> None:
    changes: list[Change] = []
    sweeps = flow(tmp_path, changes, lambda: {"rx-1"}, ("hh",))
    # The first round along shelf A reads a pack before the slot's location tag.
    assert picked(sweeps, "hh", tag(1), location(1), tag(2)) == []
    assert picked(sweeps, "hh", tag(3), location(2)) == []
    sweeps.end()
    [ended] = [c for c in changes if isinstance(c, FinishStocktake)]
    assert sorted(ended.sweep.seen().items()) == [
        (pack(1).epc, "A-01"),
        (pack(2).epc, "A-01"),
        (pack(3).epc, "A-02"),
    ]


async def test_a_count_ended_while_its_handheld_reads_on_picks_nothing_until_it_is_quiet(
    tmp_path: Path,
) -> None:
    changes: list[Change] = []
    sweeps = flow(tmp_path, changes, lambda: {"rx-1"}, ("hh",))  # quiet after 0.3 s
    assert picked(sweeps, "hh", location(1), tag(1)) == []
    sweeps.end()  # by command, the handheld still at the shelf
    assert picked(sweeps, "hh", tag(1)) == [], "the count's last reads taken as picks"
    await asyncio.sleep(0.4)  # quiet for longer than the idle time
    assert picked(sweeps, "hh", tag(1)) == [pack(1)], "held to it once quiet: a pick"
