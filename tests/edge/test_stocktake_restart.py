"""A sweep cut short by the gateway stopping (a power cut, a restart): what the handheld read
was in memory only, so at the next start the sweep is kept as abandoned and the centre told
why; its end then finds nothing running, and the next sweep of the shelf counts as usual."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from edge.demo.local_broker import LocalBroker
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.test_stocktake_sweep import PREFIX, answers, running_daemon


def state_of(db: Path, stocktake_id: str) -> str | None:
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT state FROM stocktakes WHERE stocktake_id = ?", (stocktake_id,)
        ).fetchone()
    return None if row is None else str(row[0])


async def test_a_sweep_the_gateway_stopped_during_is_abandoned_at_its_next_start(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    centre = subscribe(f"{PREFIX}/cmd-result")
    start = json.dumps(with_envelope({"shelf": "A", "by": "Ana"}))
    async with running_daemon(tmp_path, broker, {}) as (_, _, db):
        centre.publish(f"{PREFIX}/cmd/stocktake-start", start)
        [started] = await eventually(lambda: answers(centre, "started"), what="sweep started")
        sid = str(started["stocktake_id"])
        assert state_of(db, sid) == "running"
    async with running_daemon(tmp_path / "again", broker, {"database": str(db)}):
        [abandoned] = await eventually(lambda: answers(centre, "abandoned"), what="told")
        assert (abandoned["stocktake_id"], abandoned["shelf"]) == (sid, "A")
        assert "stopped during the sweep" in str(abandoned["reason"])
        assert state_of(db, sid) == "abandoned"
        end = json.dumps(with_envelope({"stocktake_id": sid}))
        centre.publish(f"{PREFIX}/cmd/stocktake-end", end)
        [refused] = await eventually(lambda: answers(centre, "error"), what="end refused")
        assert refused["command_id"] == sid
        centre.publish(
            f"{PREFIX}/cmd/stocktake-start", json.dumps(with_envelope({"shelf": "A", "by": "Ana"}))
        )
        # (answers are sent at least once: the first start's may come again after the restart)
        ids = await eventually(
            lambda: {str(a["stocktake_id"]) for a in answers(centre, "started")} - {sid},
            what="a new sweep",
        )
        (again,) = ids
        assert state_of(db, again) == "running"
