"""`rxedge procurement watch` ends on Ctrl-C (exit 130) and on SIGTERM (exit 143) as it ends by
itself, with what it took written down, also when it was started with SIGINT ignored, as a
shell script starts its background jobs: the signals are the watch's own, not Python's
KeyboardInterrupt, and a service manager's SIGTERM does not cut it off. (Ctrl-C with SIGINT
as Python sets it: the other watch tests end their watches so.) Real mosquitto, the watch as
a process."""

from __future__ import annotations

import csv
import json
import signal
from pathlib import Path

import pytest

from edge.demo.local_broker import LocalBroker
from tests.conftest import Subscriber, eventually
from tests.edge.procurement_rig import PREFIX, CliRun, request_message


@pytest.mark.parametrize(
    ("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["int", "term"]
)
async def test_a_watch_started_with_sigint_ignored_ends_on_a_signal_as_it_ends_by_itself(
    broker: LocalBroker, tmp_path: Path, signum: int, status: int
) -> None:
    table = tmp_path / "requests.csv"
    watch = ["procurement", "watch", "--broker", broker.url, "--client-id", "clerk-1"]
    run = await CliRun.start(*watch, "--csv", str(table), sigint_ignored=True)
    centre = Subscriber(broker.port, ["nothing/at/all"], "centre")
    request = request_message()
    try:
        await run.watching()
        centre.publish(f"{PREFIX}/procurement/request", json.dumps(request))
        await eventually(lambda: run.lines, what="the request printed")
        run.process.send_signal(signum)
        await eventually(
            lambda: run.process.returncode is not None,
            what=f"the watch to end on {signal.Signals(signum).name}",
        )
        assert await run.finish() == status, run.errors
    finally:
        centre.close()
        await run.kill()
    assert not [e for e in run.errors if "Traceback" in e], run.errors
    with table.open(newline="") as rows:
        assert [r["request_id"] for r in csv.DictReader(rows)] == [request["request_id"]]
