"""A clerk's break in an announced delivery, at the keeper: a notice with packs still to come
pauses at the timeout instead of closing short, and resumes as one delivery; one with nothing
more to come times out as before; a person can end a paused one."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from inventory.apply import apply
from inventory.changes import PickTick
from inventory.picking.outcome import Cue, CueKind
from inventory.putaway.sessions import Notice, NoticeLine
from tests.inventory.test_putaway import AMOX, TIMES, Clock, answers, open_keeper, scan


def test_a_notice_left_past_the_timeout_with_packs_to_come_pauses_and_resumes_as_one_delivery(
    tmp_path: Path,
) -> None:
    """The clerk's break: the lit pack is named (its slot may hold it unbooked), the slots go
    dark and the colour is free, nothing is reported missing; the next scan carries on the
    same delivery, after a restart too, and what was put before still counts."""
    clock = Clock()
    keeper = open_keeper(tmp_path / "l.sqlite", clock)
    desk = keeper.putaways
    desk.notice(Notice("D-1", (NoticeLine(AMOX.gtin, 3, "B1"),), scanner="goods-in"))
    desk.scanned(scan("B1", serial="S1"), "goods-in", "R-01", "Ana")
    desk.scanned(scan("B1", serial="S2"), "goods-in", "R-01", "Ana")
    desk.button("A-01", 1, shown=0)
    clock.now += timedelta(seconds=TIMES.timeout_seconds)
    apply(keeper, PickTick())
    [paused] = answers(keeper, "paused")
    assert answers(keeper, "closed") == []
    assert (paused["put"], paused["waiting"], paused["lines"][0]["missing"]) == (1, 1, 2)  # type: ignore[index]
    assert [(p["serial"], p["slot"]) for p in paused["left_waiting"]] == [("S2", "A-01")]  # type: ignore[attr-defined]
    assert desk.cues() == [] and desk.colours() == set() and not desk.busy
    clock.now += timedelta(hours=2)
    apply(keeper, PickTick())
    assert list(desk.sessions) == ["D-1"] and len(answers(keeper, "paused")) == 1
    keeper.close()
    keeper = open_keeper(tmp_path / "l.sqlite", clock)
    desk = keeper.putaways
    assert desk.sessions["D-1"].paused and desk.cues() == []
    desk.scanned(scan("B1", serial="S2"), "goods-in", "R-01", "Ana")  # the pack let go, again
    desk.scanned(scan("B1", serial="S3"), "goods-in", "R-01", "Ana")
    assert list(desk.sessions) == ["D-1"] and not desk.sessions["D-1"].paused
    assert desk.cues() == [Cue("A-01", CueKind.PUT, 0, 2)]
    desk.button("A-01", 2, shown=0)
    clock.now += timedelta(seconds=TIMES.remind_after_seconds)
    apply(keeper, PickTick())
    [closed] = answers(keeper, "closed")
    assert (closed["how"], closed["put"], closed["lines"][0]["missing"]) == ("done", 3, 0)  # type: ignore[index]


def test_a_notice_with_nothing_more_to_come_times_out_as_before(tmp_path: Path) -> None:
    clock = Clock()
    keeper = open_keeper(tmp_path / "l.sqlite", clock)
    desk = keeper.putaways
    desk.notice(Notice("D-3", (NoticeLine(AMOX.gtin, 1, "B1"),)))
    desk.scanned(scan("B1"), "goods-in", "R-01", "Ana")
    desk.scanned(scan("B1"), "goods-in", "R-01", "Ana")  # one more than announced
    desk.button("A-01", 1, shown=0)
    clock.now += timedelta(seconds=TIMES.timeout_seconds)
    apply(keeper, PickTick())
    [closed] = answers(keeper, "closed")
    assert (closed["how"], closed["waiting"]) == ("timed_out", 1)
    assert answers(keeper, "paused") == [] and desk.sessions == {}


def test_a_paused_delivery_ended_by_a_person_reports_what_never_came(tmp_path: Path) -> None:
    """And the pack lit when it paused, never confirmed: the centre is told which slot may
    hold it unbooked, as the pause said."""
    clock = Clock()
    keeper = open_keeper(tmp_path / "l.sqlite", clock)
    keeper.putaways.notice(Notice("D-4", (NoticeLine(AMOX.gtin, 2),)))
    keeper.putaways.scanned(scan("B1", serial="S2"), "goods-in", "R-01", "Ana")
    clock.now += timedelta(seconds=TIMES.timeout_seconds)
    apply(keeper, PickTick())
    out = keeper.putaways.end("D-4", "Ana")
    assert out.putaway_notes[-1].endswith("2 missing, 1 not put"), out.putaway_notes
    [paused] = answers(keeper, "paused")
    [closed] = answers(keeper, "closed")
    assert (closed["how"], closed["put"], closed["waiting"]) == ("ended", 0, 1)
    assert closed["lines"][0]["missing"] == 2  # type: ignore[index]
    assert closed["left_waiting"] == paused["left_waiting"]
    assert [(p["serial"], p["slot"]) for p in closed["left_waiting"]] == [("S2", "A-01")]  # type: ignore[attr-defined]
