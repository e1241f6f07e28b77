"""`rxedge procurement watch` ends on Ctrl-C (exit 130) and on SIGTERM (exit 143) as it ends by
itself, with what it took written down, also when it was started with SIGINT ignored, as a
shell script starts its background jobs: the signals are the watch's own, not Python's
KeyboardInterrupt, and a service manager's SIGTERM does not cut it off. (Ctrl-C with SIGINT
as Python sets it: the other watch tests end their watches so.) A request in hand when the
signal comes is finished first (answered, written down, acknowledged), for a while: a second
signal stops the watch at once. Real mosquitto, the watch as a process (with its answers held
by tests.edge.held_answers, to be stopped while it has one in hand)."""

from __future__ import annotations

import csv
import json
import signal
import sys
from pathlib import Path

import pytest

from edge.demo.local_broker import LocalBroker
from tests.conftest import Subscriber, eventually
from tests.edge.procurement_rig import PREFIX, CliRun, request_message

SIGNALS = pytest.mark.parametrize(
    ("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["int", "term"]
)


@SIGNALS
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


async def held_watch(
    broker: LocalBroker, table: Path, hold: float, finish: float, *more: str
) -> CliRun:
    """`procurement watch --accept --csv TABLE` whose answers are each held `hold` seconds once
    sent, given `finish` seconds to finish the request in hand when it stops."""
    held = [sys.executable, "-m", "tests.edge.held_answers", str(hold), str(finish)]
    watch = ["procurement", "watch", "--broker", broker.url, "--accept", "--csv", str(table)]
    run = await CliRun.start(*watch, *more, program=held)
    await run.watching()
    return run


def written(table: Path) -> list[str]:
    """The ids of the requests in the CSV file, in its order."""
    if not table.exists():
        return []
    with table.open(newline="") as rows:
        return [r["request_id"] for r in csv.DictReader(rows)]


async def answered(run: CliRun) -> str:
    """The id of the request the watch has sent its answer for."""
    said = await eventually(
        lambda: [e for e in run.errors if e.startswith("answer sent ")], what="an answer sent"
    )
    return said[0].removeprefix("answer sent ")


@SIGNALS
async def test_a_watch_stopped_while_it_answers_a_request_writes_the_request_down_first(
    broker: LocalBroker, tmp_path: Path, signum: int, status: int
) -> None:
    """Cut off once its answer was sent, the request would be accepted at its gateway but never
    printed, written down or acknowledged; without --client-id it would be lost for good (its
    gateway, answered, sends it no more). The watch takes it to the end first."""
    table = tmp_path / "requests.csv"
    centre = Subscriber(broker.port, [f"{PREFIX}/procurement/status"], "centre")
    run = await held_watch(broker, table, hold=3, finish=10)
    request = request_message()
    try:
        centre.publish(f"{PREFIX}/procurement/request", json.dumps(request))
        assert await answered(run) == request["request_id"]
        run.process.send_signal(signum)
        assert await run.finish() == status, run.errors
    finally:
        centre.close()
        await run.kill()
    rid = request["request_id"]
    assert [a["request_id"] for a in centre.payloads("/procurement/status")] == [rid]
    assert written(table) == [rid], run.errors
    assert [line for line in run.lines if rid in line], run.lines
    assert any(f"stopping once request {rid} is taken" in e for e in run.errors), run.errors


async def test_a_second_ctrl_c_stops_a_watch_finishing_a_request_at_once_and_it_comes_again(
    broker: LocalBroker, tmp_path: Path
) -> None:
    table = tmp_path / "requests.csv"
    run = await held_watch(broker, table, 60, 60, "--client-id", "clerk-1")
    centre = Subscriber(broker.port, ["nothing/at/all"], "centre")
    request = request_message()
    try:
        centre.publish(f"{PREFIX}/procurement/request", json.dumps(request))
        await answered(run)
        run.process.send_signal(signal.SIGINT)
        await eventually(
            lambda: any("stopping once request" in e for e in run.errors), what="it finishing"
        )
        run.process.send_signal(signal.SIGINT)
        assert await run.finish(timeout=10) == 130, run.errors
        assert written(table) == []
        run = await CliRun.start(
            *("procurement", "watch", "--broker", broker.url, "--client-id", "clerk-1"),
            *("--accept", "--csv", str(table), "--count", "1"),
        )
        assert await run.finish() == 0, run.errors
    finally:
        centre.close()
        await run.kill()
    assert written(table) == [request["request_id"]]


async def test_a_watch_gives_the_request_in_hand_a_limited_time_to_finish(
    broker: LocalBroker, tmp_path: Path
) -> None:
    table = tmp_path / "requests.csv"
    run = await held_watch(broker, table, 60, 1)
    centre = Subscriber(broker.port, ["nothing/at/all"], "centre")
    try:
        centre.publish(f"{PREFIX}/procurement/request", json.dumps(request_message()))
        await answered(run)
        run.process.send_signal(signal.SIGTERM)
        assert await run.finish(timeout=10) == 143, run.errors
    finally:
        centre.close()
        await run.kill()
    assert any("stopping once request" in e and "at most 1 s" in e for e in run.errors)
    assert written(table) == []


async def test_a_watch_that_took_count_requests_acknowledges_the_last_before_it_ends(
    broker: LocalBroker, tmp_path: Path
) -> None:
    """The last request is taken to the end and the one after it is not taken: a watch run
    again with the same --client-id gets that one, not the last one again."""
    table = tmp_path / "requests.csv"
    session = ("--client-id", "clerk-1", "--count", "1")
    run = await held_watch(broker, table, 1, 10, *session)
    centre = Subscriber(broker.port, ["nothing/at/all"], "centre")
    first, second = request_message(), request_message(n=2)
    try:
        for request in (first, second):
            centre.publish(f"{PREFIX}/procurement/request", json.dumps(request))
        assert await run.finish() == 0, run.errors
        assert written(table) == [first["request_id"]]
        run = await held_watch(broker, tmp_path / "again.csv", 0, 10, *session)
        assert await run.finish() == 0, run.errors
    finally:
        centre.close()
        await run.kill()
    assert written(tmp_path / "again.csv") == [second["request_id"]]
