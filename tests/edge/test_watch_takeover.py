"""Two `rxedge procurement watch` with one `--client-id` share one session and throw each other
off: each request one of them took and could not acknowledge before it was thrown off goes to
the other, which writes it down too. The watch whose session is taken over stops (exit 3,
saying why and what to do), the other goes on alone, and every request is written down, by
one of them at least. Real mosquitto, the watches as processes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from edge.demo.local_broker import LocalBroker
from tests.conftest import Subscriber, eventually
from tests.edge.procurement_rig import PREFIX, CliRun, request_message

REQUESTS = 300
TAKEN_OVER = 3  # the watch's exit status when another client takes its session over


def written(table: Path) -> list[str]:
    """The request ids in a watch's CSV file, in order."""
    if not table.exists():
        return []
    with table.open(newline="") as rows:
        return [row["request_id"] for row in csv.DictReader(rows)]


async def test_a_second_watch_with_the_same_client_id_stops_one_of_them_and_loses_nothing(
    broker: LocalBroker, tmp_path: Path
) -> None:
    tables = [tmp_path / "first.csv", tmp_path / "second.csv"]
    watch = ["procurement", "watch", "--broker", broker.url, "--client-id", "clerk-1"]
    first = await CliRun.start(*watch, "--csv", str(tables[0]))
    second: CliRun | None = None
    centre = Subscriber(broker.port, ["nothing/at/all"], "centre")
    try:
        await first.watching()
        second = await CliRun.start(*watch, "--csv", str(tables[1]))
        await eventually(
            lambda: any("watching" in e for e in second.errors) or second.process.returncode,
            timeout=20,
            what="the second watch subscribed",
        )
        sent = [request_message(n=1 + n % 9) for n in range(REQUESTS)]
        for body in sent:  # while the two throw each other off
            centre.publish(f"{PREFIX}/procurement/request", json.dumps(body))
        runs = (first, second)
        stopped = await eventually(
            lambda: next((r for r in runs if r.process.returncode is not None), None),
            timeout=20,
            what="one watch stopped",
        )
        on = second if stopped is first else first
        assert await stopped.finish() == TAKEN_OVER, stopped.errors
        said = "\n".join(stopped.errors)
        assert "rxedge: watch stopped:" in said and "client id 'clerk-1'" in said
        assert "give each its own --client-id" in said
        ids = {b["request_id"] for b in sent}
        await eventually(
            lambda: set(written(tables[0])) | set(written(tables[1])) == ids,
            timeout=30,
            what="every request written down",
        )
        assert on.process.returncode is None, "the other watch goes on"
        assert await on.interrupt() == 130
    finally:
        centre.close()
        await first.kill()
        if second is not None:
            await second.kill()
    both = set(written(tables[0])) & set(written(tables[1]))
    assert len(both) < REQUESTS // 5, f"{len(both)} of {REQUESTS} written down twice"
    for table in tables:
        assert len(written(table)) == len(set(written(table))), "once in each file"
