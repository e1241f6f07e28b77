"""Open put-away sessions across a restart, as pick lists: the time the daemon was not running
(a power cut) is no clerk's idle time, and a run that starts with its clock behind (no
battery-backed clock, NTP not yet answered) times them from its start all the same."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from inventory.apply import apply
from inventory.changes import PickTick
from inventory.keeper import InventoryKeeper
from inventory.picking.outcome import Cue, CueKind
from inventory.putaway.sessions import Notice, NoticeLine
from tests.inventory.test_putaway import AMOX, TIMES, Clock, answers, open_keeper, scan


def one_of_two_put(keeper: InventoryKeeper) -> None:
    """Two packs scanned at goods-in, lit in A-01, the first put: one waits there."""
    keeper.putaways.scanned(scan("B1"), "goods-in", "R-01", "Ana")
    keeper.putaways.scanned(scan("B1"), "goods-in", "R-01", "Ana")
    keeper.putaways.button("A-01", 1, shown=0)


def tick(keeper: InventoryKeeper, clock: Clock, seconds: float) -> None:
    clock.now += timedelta(seconds=seconds)
    apply(keeper, PickTick())


def test_the_time_the_daemon_was_down_is_no_sessions_idle_time(tmp_path: Path) -> None:
    path, clock = tmp_path / "l.sqlite", Clock()
    keeper = open_keeper(path, clock)
    one_of_two_put(keeper)
    clock.now += timedelta(seconds=TIMES.remind_after_seconds - 10)  # a while before the cut
    keeper.close()
    clock.now += timedelta(seconds=TIMES.timeout_seconds + 300)  # off for longer than that
    again = open_keeper(path, clock)
    lit = Cue("A-01", CueKind.PUT, 0, 1)
    assert again.putaways.cues() == [lit], "lit steady again, not reminded"
    tick(again, clock, 1)
    assert answers(again, "closed") == [] and again.putaways.cues() == [lit]
    tick(again, clock, TIMES.remind_after_seconds - 1)  # idle since the start: reminded,
    assert again.putaways.cues() == [Cue("A-01", CueKind.REMIND, 0, 1)]
    tick(again, clock, TIMES.timeout_seconds - TIMES.remind_after_seconds - 1)
    assert answers(again, "closed") == []
    tick(again, clock, 1)  # then timed out
    [closed] = answers(again, "closed")
    assert (closed["how"], closed["put"], closed["waiting"]) == ("timed_out", 1, 1)


def test_a_delivery_is_not_paused_by_the_time_the_daemon_was_down(tmp_path: Path) -> None:
    path, clock = tmp_path / "l.sqlite", Clock()
    keeper = open_keeper(path, clock)
    keeper.putaways.notice(Notice("D-1", (NoticeLine(AMOX.gtin, 3, "B1"),), scanner="goods-in"))
    one_of_two_put(keeper)
    keeper.close()
    clock.now += timedelta(seconds=TIMES.timeout_seconds * 6)
    again = open_keeper(path, clock)
    tick(again, clock, 1)
    assert answers(again, "paused") == []
    assert again.putaways.cues() == [Cue("A-01", CueKind.PUT, 0, 1)]
    again.putaways.button("A-01", 1, shown=0)
    assert [a["waiting"] for a in answers(again, "put")] == [1, 0]


def test_a_session_is_timed_from_the_start_of_a_run_whose_clock_is_behind(
    tmp_path: Path,
) -> None:
    """The session's time was stamped by a run whose clock was right; the box starts half an
    hour behind it. The session still times out `timeout_seconds` after the start, not half
    an hour later."""
    path, clock = tmp_path / "l.sqlite", Clock()
    keeper = open_keeper(path, clock)
    one_of_two_put(keeper)
    keeper.close()
    clock.now -= timedelta(minutes=30)
    again = open_keeper(path, clock)
    tick(again, clock, TIMES.remind_after_seconds)
    assert again.putaways.cues() == [Cue("A-01", CueKind.REMIND, 0, 1)]
    tick(again, clock, TIMES.timeout_seconds - TIMES.remind_after_seconds)
    [closed] = answers(again, "closed")
    assert (closed["how"], closed["waiting"]) == ("timed_out", 1)
