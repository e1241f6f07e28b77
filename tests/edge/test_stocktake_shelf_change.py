"""A pharmacist who sweeps shelf A and walks on to shelf B gets a count of each: once the
handheld's rounds read B's location tags and none of A's, A's sweep ends there, judged on what
it read, and B's begins with those rounds."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from edge.demo.local_broker import LocalBroker
from firmware_sim.tags import sgln96
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.test_stocktake_sweep import (
    GLN_PREFIX,
    PREFIX,
    answers,
    location,
    running_daemon,
    tag,
)

SHELVES = {
    "shelves": [
        {"name": "A", "host": "127.0.0.1", "port": 1, "slots": 4, "gln": "4012345000016"},
        {
            "name": "B",
            "host": "127.0.0.1",
            "port": 1,
            "device_id": 2,
            "slots": 4,
            "gln": "4012345000023",
        },
    ]
}


def b_location(slot_number: int) -> bytes:
    return sgln96(GLN_PREFIX, "00002", slot_number)


async def test_walking_on_to_another_shelf_ends_the_sweep_and_counts_that_shelf(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    stock = {7: "B-01", 8: "B-02"}
    async with running_daemon(tmp_path, broker, SHELVES, stock) as (gateway, handheld, _):
        centre = subscribe(f"{PREFIX}/cmd-result", f"{PREFIX}/alarms/#")
        start = with_envelope({"shelf": "A", "by": "Ana"})
        centre.publish(f"{PREFIX}/cmd/stocktake-start", json.dumps(start))
        [started_a] = await eventually(lambda: answers(centre, "started"), what="A started")
        shelf_a = [
            [location(1), tag(1), tag(2)],
            [location(2), tag(3)],
            [location(3), tag(4)],
            [location(4), b_location(1)],  # A-04 stands beside B-01: both tags read there
        ]
        shelf_b = [[b_location(1), tag(7)], [b_location(2), tag(8)], [b_location(3)]]
        await handheld.sweep([*shelf_a, *shelf_b, [b_location(4)]], dwell=0.3)
        # Well within the quiet time (30 s): shelf B is counted by a sweep of its own.
        started = await eventually(lambda: answers(centre, "started")[1:], what="B started")
        assert (started[0]["shelf"], started[0]["by"]) == ("B", "Ana")
        [ended_a] = await eventually(lambda: answers(centre, "ended"), what="A's count")
        assert ended_a["stocktake_id"] == started_a["stocktake_id"]
        assert ended_a["summary"] == {
            "slots": 4,
            "expected": 4,
            "seen": 4,
            "missing": 0,
            "unexpected": 0,
            "misplaced": 0,
        }
        sweep = gateway.stocktake.sweep
        assert sweep is not None and sweep.shelf == "B"
        end = with_envelope({"stocktake_id": started[0]["stocktake_id"]})
        centre.publish(f"{PREFIX}/cmd/stocktake-end", json.dumps(end))
        ended = await eventually(lambda: answers(centre, "ended")[1:], what="B's count")
        assert ended[0]["shelf"] == "B"
        summary = ended[0]["summary"]
        assert (summary["expected"], summary["seen"], summary["missing"]) == (2, 2, 0)
        assert (summary["unexpected"], summary["misplaced"]) == (0, 0)
        assert len(answers(centre, "started")) == 2
        assert not [m.topic for m in centre.drain() if "discrepancy" in m.topic and m.payload]
