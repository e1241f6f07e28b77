"""The gate in front of the command handlers, as a unit (the whole path against a broker and
the daemon is tests/edge/test_hostile_commands.py and test_command_answers.py): a command the
ledger's full queue could not take is left unacknowledged and, handed over again, carried out,
not refused as a replay."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime, timedelta

from edge.clock import Clock
from edge.daemon.stocktake_flow import StocktakeFlow
from edge.inbound.admission import Admission
from edge.inbound.commands import InboundCommands
from edge.settings.config import parse_config
from inventory.changes import Answering, Change, Refuse
from inventory.site_calendar import SiteCalendar
from sync.commands import with_envelope
from sync.mqtt_session import Delivery
from sync.topics import Topics
from tests.conftest import eventually

AMOX = "04012345123456"


async def test_a_command_the_full_queue_refused_is_no_replay_when_handed_over_again() -> None:
    config = parse_config(
        {
            "site": "s1",
            "gateway": "g1",
            "database": "/var/lib/rxedge/ledger.sqlite",
            "shelves": [{"name": "A", "host": "127.0.0.1", "port": 1502, "slots": 4}],
        }
    )
    clock = Clock()
    queued: list[Change] = []
    room = False  # the ledger's queue: full at first

    def offer(change: Change) -> bool:
        if room:
            queued.append(change)
        return room

    acked: list[Delivery] = []
    counters: Counter[str] = Counter()
    stocktake = StocktakeFlow(config, offer, lambda _a: None, dict, clock, SiteCalendar())
    inbound = InboundCommands(
        config,
        Topics("s1", "g1"),
        offer,
        lambda then: then(),
        acked.append,
        stocktake,
        lambda: "",
        counters,
        clock,
    )
    body = json.dumps(with_envelope({"gtin": AMOX, "seconds": 1, "command_id": "c1"})).encode()
    first = Delivery("rxedge/v1/s1/g1/cmd/locate", body, mid=1, qos=1, link=1)
    again = Delivery("rxedge/v1/s1/g1/cmd/locate", body, mid=1, qos=1, link=2)
    turns = asyncio.create_task(inbound.take_in_turn())
    try:
        inbound.on_delivery(first)
        await eventually(lambda: counters["commands"] == 1, what="the first taken")
        assert acked == [] and queued == [], "not queued: left with the broker"
        room = True
        inbound.on_delivery(again)  # the broker hands it over on the next connection
        await eventually(lambda: acked == [again], what="the second acknowledged")
        (change,) = queued
        assert isinstance(change, Answering) and not isinstance(change, Refuse)
        assert change.command == "locate"
    finally:
        turns.cancel()
        await asyncio.gather(turns, return_exceptions=True)


def test_a_copy_is_told_as_a_replay_before_its_expiry_is_looked_at() -> None:
    admission = Admission(rate=10, burst=10, max_ahead=3600)
    now = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)
    an_hour_ago = now - timedelta(hours=1)
    admission.load({"carried-out": "2026-11-26T15:00:00.000Z"})  # from the ledger, at start
    assert admission.check("carried-out", an_hour_ago, now) == (
        "message carried-out was received before; a replay is not carried out"
    )
    never_seen = admission.check("never-seen", an_hour_ago, now)
    assert never_seen is not None
    assert never_seen.startswith("command expired at 2026-11-26T15:00:00+00:00; not carried out")
