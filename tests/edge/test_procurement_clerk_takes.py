"""What `rxedge procurement watch` takes from its broker (a real mosquitto): with `--count N`
exactly N requests, the rest left unacknowledged for the session's next time; a malformed
request logged, acknowledged and dropped, never printed, written down or accepted; and its
broker lost and back, said both times, with what a watch without a session missed meanwhile."""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from edge.cli.procurement.watch_links import tell_link
from edge.demo.local_broker import LocalBroker
from tests.conftest import Subscriber, eventually
from tests.edge.procurement_rig import PREFIX, CliRun, request_message

TOPIC = f"{PREFIX}/procurement/request"


def csv_ids(table: Path) -> list[str]:
    with table.open(newline="") as held:
        return [row["request_id"] for row in csv.DictReader(held)]


async def test_count_takes_exactly_n_of_the_requests_waiting_and_the_rest_come_next_time(
    broker: LocalBroker, subscribe: Callable[..., Subscriber], tmp_path: Path
) -> None:
    table = tmp_path / "requests.csv"
    watch = ["procurement", "watch", "--broker", broker.url, "--client-id", "clerk-count"]
    watch += ["--csv", str(table), "--json"]
    opening = await CliRun.start(*watch)  # the session the requests will wait in
    try:
        await opening.watching()
        assert await opening.interrupt() == 130
    finally:
        await opening.kill()
    waiting = [request_message(n=n) for n in range(1, 6)]
    centre = subscribe("nothing/at/all")
    for body in waiting:  # sent while the clerk is away: all five wait at the broker
        centre.publish(TOPIC, json.dumps(body))
    ids = [str(b["request_id"]) for b in waiting]

    one = await CliRun.start(*watch, "--count", "1", "--seconds", "20")
    try:
        assert await one.finish() == 0, one.errors
    finally:
        await one.kill()
    assert [line["request_id"] for line in one.json_lines()] == ids[:1], "exactly one taken"
    assert csv_ids(table) == ids[:1], "exactly one written down"

    rest = await CliRun.start(*watch, "--count", "4", "--seconds", "20")
    try:
        assert await rest.finish() == 0, rest.errors
    finally:
        await rest.kill()
    assert [line["request_id"] for line in rest.json_lines()] == ids[1:], (
        "the four not acknowledged came again, in order"
    )
    assert csv_ids(table) == ids


def bad(n: int, **wrong: Any) -> dict[str, Any]:
    """A request (the contract's shape) with some fields wrong."""
    return {**request_message(n=n), **wrong}


async def test_a_malformed_request_is_logged_acknowledged_and_dropped_and_the_watch_goes_on(
    broker: LocalBroker, tmp_path: Path
) -> None:
    table = tmp_path / "requests.csv"
    watch = ["procurement", "watch", "--broker", broker.url, "--client-id", "clerk-strict"]
    watch += ["--csv", str(table), "--accept"]  # printed as lines, their fields read
    # Not the contract-checking `subscribe`: these requests break the contract on purpose.
    centre = Subscriber(broker.port, [f"{PREFIX}/procurement/status"], "centre")
    wrong = [bad(1, priority=None), bad(2, priority=2), bad(3, reason=None), bad(4, quantity=0)]
    good, later = request_message(n=5), request_message(n=6)
    run = await CliRun.start(*watch)
    try:
        await run.watching()
        for body in [*wrong, good]:
            centre.publish(TOPIC, json.dumps(body))
        await eventually(lambda: run.lines, what="the good request printed")
        assert await run.interrupt() == 130, run.errors
    finally:
        await run.kill()
    (line,) = run.lines
    assert f"[{good['request_id']}]  answer: rxedge procurement status" in line
    assert "ROUTINE" in line
    dropped = [e for e in run.errors if "dropped a malformed request" in e]
    assert len(dropped) == len(wrong), run.errors
    assert "priority: null is not one of" in dropped[0]
    assert "priority: 2 is not one of" in dropped[1]
    assert "reason: must be an object, not null" in dropped[2]
    assert "quantity" in dropped[3]
    assert not any("watch stopped" in e for e in run.errors)

    # Acknowledged, not kept: the next watch of the same session gets only what is new.
    again = await CliRun.start(*watch, "--count", "1", "--seconds", "20")
    try:
        await again.watching()
        centre.publish(TOPIC, json.dumps(later))
        assert await again.finish() == 0, again.errors
        await eventually(
            lambda: len(centre.payloads("/procurement/status")) >= 2, what="two answers sent"
        )
    finally:
        await again.kill()
        centre.close()
    (line,) = again.lines
    assert f"[{later['request_id']}]  answer: " in line
    assert not any("malformed" in e for e in again.errors), again.errors
    assert csv_ids(table) == [good["request_id"], later["request_id"]]
    accepted = centre.payloads("/procurement/status")
    assert [(a["request_id"], a["status"]) for a in accepted] == [
        (good["request_id"], "accepted"),
        (later["request_id"], "accepted"),
    ], "a malformed request is never accepted"


async def test_a_watch_says_when_it_lost_its_broker_and_when_it_is_back(
    broker: LocalBroker,
) -> None:
    """A clerk can tell a watch waiting for its broker from a dead one, and a watch without
    --client-id says at each return that what was published meanwhile is not kept for it."""
    watch = ["procurement", "watch", "--broker", broker.url, "--group", ""]
    runs = {
        "kept": await CliRun.start(*watch, "--client-id", "clerk-link"),
        "none": await CliRun.start(*watch),
    }

    def said(run: CliRun, words: str) -> list[str]:
        return [e for e in run.errors if words in e]

    try:
        for run in runs.values():
            await run.watching()
        broker.kill()
        for run in runs.values():
            await eventually(partial(said, run, "lost the broker"), what="the loss said")
        await broker.start()
        for run in runs.values():
            await eventually(partial(said, run, "connected again"), timeout=20, what="the return")
        body = request_message()
        centre = Subscriber(broker.port, ["nothing/at/all"], "centre")
        centre.publish(TOPIC, json.dumps(body))
        centre.close()
        for run in runs.values():
            await eventually(partial(getattr, run, "lines"), what="a request after the return")
            assert await run.interrupt() == 130
    finally:
        for run in runs.values():
            await run.kill()
    lost = f"rxedge: lost the broker {broker.url}; retrying (requests published meanwhile "
    assert said(runs["kept"], "lost the broker") == [lost + "wait in this watch's session)"]
    assert said(runs["none"], "lost the broker") == [lost + "are not kept for this watch)"]
    for run in runs.values():
        assert said(run, "connected again") == [f"rxedge: connected again to {broker.url}"]
    assert said(runs["kept"], "--client-id") == []
    assert said(runs["none"], "--client-id") == [
        "rxedge: warning: no --client-id, so no session: requests published while this watch "
        "is not running are not kept for it (give --client-id NAME to catch up on return)",
        "rxedge: warning: no --client-id, so no session: requests published while the link "
        "was down were not kept for this watch (give --client-id NAME to catch up on return)",
    ]


async def test_a_link_that_went_before_the_telling_began_is_told(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The broker went while the watch was still starting (after its "watching" line, before
    it began to follow its link): the loss is told all the same, then the return."""
    consumer = SimpleNamespace(
        connected=asyncio.Event(),
        lost=asyncio.Event(),
        brokers=SimpleNamespace(current=SimpleNamespace(url="mqtt://127.0.0.1:1883")),
    )
    consumer.lost.set()  # connected, then lost: before tell_link ran
    telling = asyncio.create_task(tell_link(consumer, kept=True, quiet=lambda: False))  # type: ignore[arg-type]
    try:
        await eventually(lambda: "lost the broker" in capsys.readouterr().err, what="the loss")
        consumer.lost.clear()
        consumer.connected.set()
        await eventually(lambda: "connected again" in capsys.readouterr().err, what="the return")
    finally:
        telling.cancel()
        await asyncio.gather(telling, return_exceptions=True)
