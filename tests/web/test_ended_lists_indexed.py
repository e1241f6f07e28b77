"""The views' lists of what ended last (pick lists, deliveries, stocktakes) read their rows
through an index in that order: on a ledger of a busy year (100k ended pick lists) a scan and
sort of every row made each refresh of the Picks view take 140 ms."""

from __future__ import annotations

from pathlib import Path

from edge.web import reading
from inventory.ledger import store


def test_the_last_ended_lists_are_read_through_an_index_in_their_order(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    store.connect(path).close()
    db = store.connect_readonly(path)
    asked: list[str] = []
    db.set_trace_callback(asked.append)
    try:
        reading.pick_lists(db)
        reading.deliveries(db)
        reading.stocktakes(db)
        db.set_trace_callback(None)
        last_ended = [sql for sql in asked if " DESC LIMIT " in sql]
        plans = {
            sql: [str(step[-1]) for step in db.execute(f"EXPLAIN QUERY PLAN {sql}")]
            for sql in last_ended
        }
    finally:
        db.close()
    assert len(plans) == 3, asked
    for sql, plan in plans.items():
        assert len(plan) == 1 and " USING INDEX " in plan[0], (sql, plan)
        assert not any("TEMP B-TREE" in step for step in plan), (sql, plan)
