"""A sweep started by command waits for its handheld: the pharmacist may start it at the desk
and walk to the shelf. Its quiet time counts from the handheld's reads; a sweep that read
nothing has nothing to judge and is abandoned; a badge tapped while the shelf is swept again
confirms nothing."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from edge.clock import Clock
from edge.daemon.stocktake_flow import StocktakeFlow
from edge.demo.local_broker import LocalBroker
from edge.settings.config import parse_config
from inventory.changes import Change, ConfirmStocktake, FinishStocktake
from inventory.codes.identifiers import EpcDecoder
from inventory.site_calendar import SiteCalendar
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.test_stocktake_sweep import PREFIX, answers, location, running_daemon, tag

WHOLE_SHELF = [[location(1), tag(1), tag(2)], [location(2), tag(3)], [location(3), tag(4)]]


def start_a(centre: Subscriber) -> None:
    start = with_envelope({"shelf": "A", "by": "Ana"})
    centre.publish(f"{PREFIX}/cmd/stocktake-start", json.dumps(start))


async def test_a_sweep_started_by_command_waits_for_the_handhelds_first_read(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    stocktake = {"idle_end_seconds": 0.5}
    async with running_daemon(tmp_path, broker, {"stocktake": stocktake}) as (gateway, hh, db):
        centre = subscribe(f"{PREFIX}/cmd-result", f"{PREFIX}/alarms/#")
        start_a(centre)
        [started] = await eventually(lambda: answers(centre, "started"), what="started")
        sid = str(started["stocktake_id"])
        begun = gateway.clock.monotonic()
        # Ana walks to the shelf: four times the quiet time, and nothing read yet.
        await eventually(lambda: gateway.clock.monotonic() - begun > 2.0, what="the walk")
        assert answers(centre, "ended") == [] and answers(centre, "abandoned") == []
        assert gateway.stocktake.sweep is not None
        assert gateway.stocktake.sweep.stocktake_id == sid
        # At the shelf: the handheld's reads go to Ana's sweep, which ends once it is quiet.
        await hh.sweep([*WHOLE_SHELF, [location(4)]], dwell=0.3)
        [ended] = await eventually(lambda: answers(centre, "ended"), what="the count")
        assert ended["stocktake_id"] == sid and len(answers(centre, "started")) == 1
        assert (ended["summary"]["seen"], ended["summary"]["missing"]) == (4, 0)
        assert not [m.topic for m in centre.drain() if "discrepancy" in m.topic and m.payload]
        with sqlite3.connect(db) as ledger:
            row = ledger.execute("SELECT by, state FROM stocktakes WHERE stocktake_id = ?", (sid,))
            assert row.fetchone() == ("Ana", "ended")


async def test_a_sweep_that_read_nothing_is_abandoned_unjudged(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    stocktake = {"idle_end_seconds": 0.5, "handheld_wait_seconds": 1.5}
    async with running_daemon(tmp_path, broker, {"stocktake": stocktake}) as (gateway, _, db):
        centre = subscribe(f"{PREFIX}/cmd-result", f"{PREFIX}/alarms/#")
        # Ended by command before the handheld read anything.
        start_a(centre)
        [first] = await eventually(lambda: answers(centre, "started"), what="started")
        end = with_envelope({"stocktake_id": first["stocktake_id"]})
        centre.publish(f"{PREFIX}/cmd/stocktake-end", json.dumps(end))
        [ended_early] = await eventually(lambda: answers(centre, "abandoned"), what="answer")
        assert ended_early["stocktake_id"] == first["stocktake_id"]
        assert str(ended_early["reason"]).startswith("no location tag of shelf A was read, ")
        # Started, and the handheld never came: abandoned after its wait, not at the quiet time.
        begun = gateway.clock.monotonic()  # before the start: the sweep cannot begin earlier
        start_a(centre)
        second = await eventually(lambda: answers(centre, "started")[1:], what="again")
        [waited] = await eventually(lambda: answers(centre, "abandoned")[1:], what="its end")
        assert gateway.clock.monotonic() - begun >= 1.5, "ended at the quiet time, not the wait"
        assert waited["stocktake_id"] == second[0]["stocktake_id"]
        assert "shelf A was read in the 1.5 s since it started" in str(waited["reason"])
        # Nothing judged: no report, no discrepancy alarm, nothing a badge could confirm.
        assert answers(centre, "ended") == []
        assert not [m.topic for m in centre.drain() if "discrepancy" in m.topic]
        assert gateway.stocktake.awaiting is None
        with sqlite3.connect(db) as ledger:
            states = ledger.execute("SELECT DISTINCT state FROM stocktakes").fetchall()
            assert states == [("abandoned",)]


class SteppedClock(Clock):
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.at = 1000.0

    def monotonic(self) -> float:
        return self.at


def test_a_badge_confirms_nothing_while_the_shelf_is_swept_again(tmp_path: Path) -> None:
    config = parse_config(
        {
            "site": "s1",
            "gateway": "g1",
            "database": str(tmp_path / "ledger.sqlite"),
            "shelves": [{"name": "A", "host": "127.0.0.1", "slots": 4, "gln": "4012345000016"}],
        }
    )
    clock = SteppedClock()
    changes: list[Change] = []
    flow = StocktakeFlow(
        config, changes.append, lambda _: None, dict, clock, SiteCalendar(None, clock.now)
    )
    decode = EpcDecoder().decode
    flow.start("A", "Ana")
    for read in (location(1), tag(1)):
        flow.read(decode(read), 0, "", "hh")
    flow.end()
    counted = flow.awaiting
    assert counted is not None
    clock.at += 15  # the handheld quiet; then it reads shelf A again: a new sweep of it
    assert flow.read(decode(location(1)), 0, "", "hh")
    assert flow.sweep is not None and flow.sweep.stocktake_id != counted
    assert flow.badge("Dr. Ana Ruiz") is False  # within the window, yet the shelf is swept again
    assert not [c for c in changes if isinstance(c, ConfirmStocktake)]
    flow.end()
    finished = [c for c in changes if isinstance(c, FinishStocktake)]
    assert [c.abandoned for c in finished] == ["", ""]
    assert flow.badge("Dr. Ana Ruiz") is True  # the newer count, now done
    [confirmed] = [c for c in changes if isinstance(c, ConfirmStocktake)]
    assert confirmed.stocktake_id == finished[1].sweep.stocktake_id != counted
