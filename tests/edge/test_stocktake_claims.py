"""Which handheld a sweep begun by command takes: the first, not picking, to read a location
tag of the shelf counted; a handheld is picking while a pick list its reads went to is open;
one down is not there to count with."""

from __future__ import annotations

import asyncio
from pathlib import Path

from inventory.changes import Change, FinishStocktake, Refuse, StocktakeStarted
from inventory.codes.identifiers import EpcDecoder
from tests.conftest import eventually
from tests.edge.test_stocktake_handhelds import flow, picked
from tests.edge.test_stocktake_shelf_change import b_location
from tests.edge.test_stocktake_sweep import location, pack, tag

STRAY = bytes.fromhex("E2801160600002085A5B1234")  # a tag's factory code: no pack, no place


def test_stray_tags_foreign_locations_and_packs_do_not_claim_a_sweep(tmp_path: Path) -> None:
    changes: list[Change] = []
    sweeps = flow(tmp_path, changes, handhelds=("hh-1", "hh-2"))
    decode = EpcDecoder().decode
    sweeps.start("A", "Ana")
    # The spare handheld, lying by the goods-in desk: tags that are not shelf A's places.
    for read in (STRAY, b_location(2), tag(8)):
        sweeps.read(decode(read), -60, "", "hh-2")
    sweeps.round_done("", "hh-2")
    # Ana's handheld at shelf A: its round's packs read before the location tag count too.
    for read in (tag(1), location(1), tag(2)):
        assert sweeps.read(decode(read), -50, "Ana", "hh-1"), "Ana's handheld left out"
    sweeps.round_done("Ana", "hh-1")
    assert not sweeps.read(decode(tag(8)), -50, "", "hh-2"), "the spare's read counted"
    sweeps.end()
    [ended] = [c for c in changes if isinstance(c, FinishStocktake)]
    assert ended.abandoned == ""
    assert sorted(ended.sweep.seen().values()) == ["A-01", "A-01"]
    assert len(ended.sweep.packs) == 2, "the spare's pack counted"


def test_a_handheld_picks_only_while_a_list_it_read_for_is_open(tmp_path: Path) -> None:
    changes: list[Change] = []
    lists = {"morning"}
    sweeps = flow(tmp_path, changes, lambda: lists, ("hh",))
    decode = EpcDecoder().decode
    assert picked(sweeps, "hh", tag(9)) == [pack(9)], "a pick read, for the pick list"
    lists = {"afternoon"}  # the morning list done, another picked by button since
    sweeps.start("A", "Ana")
    assert [type(c) for c in changes] == [StocktakeStarted]
    assert sweeps.read(decode(location(1)), 0, "Ana", "hh"), "the free handheld counts"


def test_a_count_is_refused_up_front_when_the_free_handheld_is_down(tmp_path: Path) -> None:
    changes: list[Change] = []
    sweeps = flow(tmp_path, changes, lambda: {"p-1"}, ("hh-1", "hh-2"))
    sweeps.handheld("hh-2", up=False)  # on its charger
    assert picked(sweeps, "hh-1", tag(9)) == [pack(9)], "a pick read, for the pick list"
    sweeps.start("A", "Ana")
    [refused] = changes
    assert isinstance(refused, Refuse) and sweeps.sweep is None
    assert refused.error == (
        "no handheld to count with: hh-1 read for the open pick lists, and a handheld counts "
        "or picks, not both; hh-2 is down; finish or cancel the pick lists or bring it back, "
        "then start the count"
    )
    sweeps.handheld("hh-2", up=True)
    sweeps.start("A", "Ana")
    assert isinstance(changes[-1], StocktakeStarted)


def test_pick_reads_while_a_count_waits_for_its_handheld_go_to_the_pick_list(
    tmp_path: Path,
) -> None:
    changes: list[Change] = []
    lists: set[str] = set()
    sweeps = flow(tmp_path, changes, lambda: lists, ("hh-1", "hh-2"))
    decode = EpcDecoder().decode
    sweeps.start("A", "Ana")  # Ana walks to shelf A with hh-1
    lists = {"p-1"}  # a clerk opens a pick list and picks with hh-2 meanwhile
    assert picked(sweeps, "hh-2", tag(7), tag(8)) == [pack(7), pack(8)], "held for the count"
    assert not sweeps.read(decode(location(2)), 0, "", "hh-2"), "a picking handheld counts"
    for read in (location(1), tag(1)):
        assert sweeps.read(decode(read), 0, "Ana", "hh-1")
    sweeps.round_done("Ana", "hh-1")
    sweeps.end()
    [ended] = [c for c in changes if isinstance(c, FinishStocktake)]
    assert ended.abandoned == "" and list(ended.sweep.seen().values()) == ["A-01"]


def test_a_list_tied_to_another_scanner_does_not_make_a_handheld_picking(tmp_path: Path) -> None:
    changes: list[Change] = []
    lists = {"p-1": "", "p-2": "desk-scanner"}
    sweeps = flow(tmp_path, changes, lambda: lists, ("hh-1",))
    decode = EpcDecoder().decode
    assert picked(sweeps, "hh-1", tag(9)) == [pack(9)], "a pick read, for p-1"
    lists = {"p-2": "desk-scanner"}  # p-1 done; p-2, picked at the desk scanner, still open
    sweeps.start("A", "Ana")
    assert [type(c) for c in changes] == [StocktakeStarted]
    assert sweeps.read(decode(tag(1)), 0, "Ana", "hh-1"), "held for the count, not a pick read"
    assert sweeps.read(decode(location(1)), 0, "Ana", "hh-1"), "the free handheld counts"
    sweeps.end()
    [ended] = [c for c in changes if isinstance(c, FinishStocktake)]
    assert list(ended.sweep.seen().values()) == ["A-01"]


def test_a_count_no_location_tag_claimed_says_so_and_what_was_read(tmp_path: Path) -> None:
    changes: list[Change] = []
    sweeps = flow(tmp_path, changes, handhelds=("hh-1",))
    decode = EpcDecoder().decode
    sweeps.start("A", "Ana")  # shelf A's location tags are not stuck on
    for n in (1, 2, 3):
        assert sweeps.read(decode(tag(n)), 0, "Ana", "hh-1")
    sweeps.round_done("Ana", "hh-1")
    sweeps.end()
    [ended] = [c for c in changes if isinstance(c, FinishStocktake)]
    assert ended.abandoned == (
        "no location tag of shelf A was read, and a count needs them: check they are on the "
        "shelf and read (3 pack reads meanwhile, not counted)"
    )


async def test_a_count_no_handheld_claimed_does_not_blame_a_spare_that_is_down(
    tmp_path: Path,
) -> None:
    changes: list[Change] = []
    sweeps = flow(tmp_path, changes, handhelds=("hh-1", "hh-2"))
    sweeps.handheld("hh-2", up=False)  # the spare, on its charger
    sweeps.start("A", "Ana")  # hh-1 is free: the count is offered to it
    watching = asyncio.create_task(sweeps.watch())
    try:
        [ended] = await eventually(
            lambda: [c for c in changes if isinstance(c, FinishStocktake)], timeout=5
        )
    finally:
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)
    assert ended.abandoned == (
        "no location tag of shelf A was read in the 0.6 s since it started, and a count needs "
        "them: check they are on the shelf and read (no pack read meanwhile either)"
    )
