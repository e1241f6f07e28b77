"""A delivered pack whose expiry is not the one its notice announced, at the keeper: counted
on its line as before, the date scanned is told in the activity log when it is lit and in
the line's figures (`other_expiries`), so the centre does not take the notice's date for
what is on the shelf."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from inventory.apply import apply
from inventory.changes import PickTick
from inventory.putaway.sessions import Notice, NoticeLine
from sync.contract import validate
from tests.inventory.test_putaway import AMOX, TIMES, Clock, answers, open_keeper, scan


def test_a_pack_expiring_otherwise_than_announced_is_counted_and_its_date_reported(
    tmp_path: Path,
) -> None:
    clock = Clock()
    keeper = open_keeper(tmp_path / "l.sqlite", clock)
    desk = keeper.putaways
    line = NoticeLine(AMOX.gtin, 2, "B1", "2030-05-31")
    desk.notice(Notice("D-1", (line,), "R-X", "goods-in"))
    other, same = scan("B1", days=120, serial="S1"), scan("B1", days=1282, serial="S2")
    assert same.expiry is not None and same.expiry.isoformat() == "2030-05-31"
    assert other.expiry is not None
    out = desk.scanned(other, "goods-in", "R-01", "Ana")
    said = f"expires on {other.expiry.isoformat()}; its notice announced 2030-05-31"
    assert any(said in note for note in out.putaway_notes), out.putaway_notes
    out = desk.scanned(same, "goods-in", "R-01", "Ana")
    assert not any("announced" in note for note in out.putaway_notes)
    desk.button("A-01", 2, shown=0)
    clock.now += timedelta(seconds=TIMES.remind_after_seconds)
    apply(keeper, PickTick())
    [closed] = answers(keeper, "closed")
    assert validate("cmd-result", closed) == []
    [reported] = closed["lines"]  # type: ignore[misc]
    assert (reported["expiry"], reported["received"], reported["missing"]) == ("2030-05-31", 2, 0)
    assert reported["other_expiries"] == [other.expiry.isoformat()]
