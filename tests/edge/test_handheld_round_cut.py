"""A handheld's pick is decided at the end of its round, and a round that does not end decides
nothing, on the running daemon (mosquitto, a pty handheld): a pack read in a round the link
cut short, or whose end was lost on the line, is never booked, neither when the handheld is
back nor at its next round's end, and not for a list opened meanwhile; held to the handheld
again, it is picked."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from edge.daemon.activity import Activity
from edge.demo.local_broker import LocalBroker
from inventory.codes.identifiers import EpcDecoder
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually, subscribed
from tests.edge.test_stocktake_handhelds import flow
from tests.edge.test_stocktake_pick_lists import QUIET, opened, picks, rounds_after, statuses
from tests.edge.test_stocktake_sweep import PREFIX, running_daemon, tag


def said_times(said: list[Activity], text: str) -> int:
    """How often the activity log said something beginning with `text`."""
    return sum(a.text.startswith(text) for a in said)


async def test_a_pack_read_as_the_link_drops_is_not_picked_when_the_handheld_is_back(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    said: list[Activity] = []
    async with running_daemon(tmp_path, broker, QUIET, None, said) as (gateway, handheld, db):
        await subscribed(gateway)
        centre = subscribe(f"{PREFIX}/cmd-result")
        await opened(centre, "rx-1", 1)
        # She holds pack 1 to the handheld; its tag arrives, and the link drops before the
        # round's end does.
        handheld.ends_withheld = 1
        reads = gateway.counters["tag_reads"]
        handheld.present([tag(1)])
        await eventually(lambda: gateway.counters["tag_reads"] > reads, what="pack 1 read")
        handheld.present([])  # she lowers the handheld
        unplugged = asyncio.create_task(handheld.line.unplug(3.0))
        await eventually(lambda: said_times(said, "hh is down") == 1)
        assert statuses(centre, "rx-1") == ["accepted"] and picks(db) == []
        # The prescription is cancelled meanwhile, and another for the same product opens.
        cancel = with_envelope({"pick_id": "rx-1", "by": "Bea"})
        centre.publish(f"{PREFIX}/cmd/pick-cancel", json.dumps(cancel))
        await eventually(lambda: "cancelled" in statuses(centre, "rx-1"), what="rx-1 cancelled")
        await opened(centre, "rx-2", 1)
        await unplugged
        await eventually(lambda: said_times(said, "hh is up") == 2, what="the handheld back")
        await rounds_after(handheld)  # its rounds since read nothing
        assert statuses(centre, "rx-2") == ["accepted"], "a pack nobody picked booked for rx-2"
        assert picks(db) == []
        handheld.present([tag(1)])  # held to the handheld again: a pick
        await eventually(lambda: "done" in statuses(centre, "rx-2"), what="pack 1 picked")
        assert picks(db) == ["1"]


async def test_a_pack_read_in_a_round_whose_end_was_lost_is_not_picked_at_the_next(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    said: list[Activity] = []
    async with running_daemon(tmp_path, broker, QUIET, None, said) as (gateway, handheld, db):
        await subscribed(gateway)
        centre = subscribe(f"{PREFIX}/cmd-result")
        await opened(centre, "rx-1", 1)
        handheld.ends_withheld = 1  # the end of the round that reads pack 1 is lost
        reads = gateway.counters["tag_reads"]
        handheld.present([tag(1)])
        await eventually(lambda: gateway.counters["tag_reads"] > reads, what="pack 1 read")
        handheld.present([])  # a glance at the pack, never held there for a whole round
        answered = handheld.inventories
        # The reader waits for that round's end, then runs the next ones.
        await eventually(lambda: handheld.inventories > answered, what="the next round")
        await rounds_after(handheld)
        assert statuses(centre, "rx-1") == ["accepted"], "a read of no round booked"
        assert picks(db) == []
        assert said_times(said, "hh is down") == 0
        handheld.present([tag(1)])
        await eventually(lambda: "done" in statuses(centre, "rx-1"), what="pack 1 picked")
        assert picks(db) == ["1"]


def test_a_handheld_down_and_back_books_nothing_of_the_round_it_was_in(tmp_path: Path) -> None:
    lists = {"rx-1"}
    sweeps = flow(tmp_path, [], lambda: lists, ("hh",))
    sweeps.read(EpcDecoder().decode(tag(1)), 0, "", "hh")  # the link drops before the end
    sweeps.handheld("hh", up=False)
    lists = {"rx-2"}
    sweeps.handheld("hh", up=True)
    assert sweeps.round_done("", "hh") == [], "its first round back booked the read before"
