"""A request the centre never answers is sent again over a real mosquitto: the same message,
with the same request_id, each `procurement.resend_after_hours` on the gateway's clock (across
a restart too), until the centre answers; the clerk's watch takes it once and shows each copy
as a repeat. The watch says when it keeps no session; the setting refuses a bad value by its
key."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from edge.daemon.activity import Activity
from edge.daemon.gateway import Gateway
from edge.daemon.ledger_link import LedgerLink
from edge.demo.local_broker import LocalBroker
from edge.settings.config import ConfigError, parse_config
from inventory.changes import Book, Change, SendRequestsAgain
from inventory.ledger.store import connect_readonly
from inventory.replenishment.requests import shown_columns
from tests.clocks import SteppedClock
from tests.conftest import Subscriber, eventually, subscribed
from tests.edge.procurement_rig import (
    PREFIX,
    CliRun,
    change,
    config,
    looking_every,
    products,
    request_message,
    requests,
    stock,
    stop_gateway,
    take_one,
    unsent_requests,
)
from tests.inventory.test_store import file_at_version

HOURS = 0.25  # the least allowed: 15 minutes on the gateway's clock, stepped by the test
PERIOD = HOURS * 3600
LOOK_EVERY = 0.5  # seconds (the daemon's 60 s, shortened for the test)


@pytest.fixture(autouse=True)
def looking_often(monkeypatch: pytest.MonkeyPatch) -> None:
    looking_every(monkeypatch, LOOK_EVERY)


async def gateway_on(
    settings: dict[str, object], clock: SteppedClock, said: list[Activity]
) -> tuple[Gateway, asyncio.Task[None]]:
    gateway = Gateway(parse_config(settings), said.append, clock)
    task = asyncio.create_task(gateway.run())
    await eventually(gateway.ready.is_set, what="gateway ready")
    await subscribed(gateway)
    return gateway, task


def repeats(watch: CliRun) -> list[str]:
    """What a watch with --json said on stderr of copies sent again of requests it took."""
    return [line for line in watch.errors if line.startswith("sent again")]


async def written(gateway: Gateway) -> None:
    """Until every change queued so far is written."""
    done = asyncio.get_running_loop().create_future()
    gateway.ledger.when_written(lambda: done.done() or done.set_result(None))
    await asyncio.wait_for(done, 10)


async def test_an_unanswered_request_goes_out_again_until_answered_and_the_watch_takes_it_once(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    wanted = products(auto=1)
    db = tmp_path / "ledger.sqlite"
    stock(db, wanted)
    settings = {**config(db, broker.url, wanted), "procurement": {"resend_after_hours": HOURS}}
    wire = subscribe(f"{PREFIX}/procurement/request")  # every copy the broker hands on
    watch = await CliRun.start(
        *("procurement", "watch", "--broker", broker.url, "--json", "--client-id", "clerk-1")
    )
    clock, said = SteppedClock(), []
    try:
        await watch.watching()
        gateway, task = await gateway_on(settings, clock, said)
        try:
            change(gateway, Book((take_one(wanted[0]["gtin"]),)))
            (rid,) = await eventually(lambda: list(requests(db)), what="the request raised")
            await eventually(lambda: unsent_requests(db) == 0, what="the broker took it")
            clock.step(PERIOD)  # no answer for resend_after_hours
            await eventually(lambda: len(wire.payloads("/request")) == 2, what="sent again")
            await eventually(lambda: unsent_requests(db) == 0, what="the broker took the copy")
        finally:
            await stop_gateway(gateway, task)
        gateway, task = await gateway_on(settings, clock, said)  # restarted: it carries on
        try:
            clock.step(PERIOD)
            await eventually(lambda: len(wire.payloads("/request")) == 3, what="sent again")
            target = ["--broker", broker.url, "--site", "s1", "--gateway", "g1"]
            answer = await CliRun.start("procurement", "status", rid, "accepted", *target)
            assert await answer.finish() == 0, answer.errors
            await eventually(lambda: requests(db)[rid] == "accepted", what="the answer taken")
            clock.step(10 * PERIOD)
            await gateway.ledger.submit(SendRequestsAgain(PERIOD))
            await written(gateway)
            assert len(wire.payloads("/request")) == 3, "answered: never sent again"
        finally:
            await stop_gateway(gateway, task)
        listed = await CliRun.start("procurement", "list", "--db", str(db), "--json")
        assert await listed.finish() == 0, listed.errors
        (row,) = listed.json_lines()
        assert (row["request_id"], row["sent_again"]) == (rid, 2)
        # A request published after the copies reaches the watch after them: it has seen all.
        marker = request_message(n=2)
        wire.publish(f"{PREFIX}/procurement/request", json.dumps(marker))
        await eventually(
            lambda: any(line["request_id"] == marker["request_id"] for line in watch.json_lines()),
            what="the request after the copies",
        )
        assert await watch.interrupt() == 130
    finally:
        await watch.kill()
    copies = wire.payloads("/request")[:3]
    assert [c["request_id"] for c in copies] == [rid] * 3
    assert [c.pop("sent_again", 0) for c in copies] == [0, 1, 2]
    assert copies[0] == copies[1] == copies[2], "the same request, marked a copy"
    taken = [line["request_id"] for line in watch.json_lines()]
    assert taken == [rid, marker["request_id"]], "the clerk's watch took the request once"
    await eventually(lambda: len(repeats(watch)) == 2, what="both copies shown")
    assert [(c.split(":")[0], c.endswith(f"[{rid}]")) for c in repeats(watch)] == [
        ("sent again (1)", True),
        ("sent again (2)", True),
    ], "and showed each copy on stderr (stdout of --json: what to order): no answer yet"
    notes = [a.text for a in said if "sent again" in a.text]
    assert [n.split(" sent again ")[1].split(":")[0] for n in notes] == [
        "(1 time so far)",
        "(2 times so far)",
    ]
    assert all(rid in n for n in notes)


async def test_a_copy_sent_again_that_the_watch_never_saw_is_shown_as_a_repeat(
    broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    """A watch restarted without its seen ids, or another member of the share group, gets a
    copy as new: it says plainly that the request may have been ordered already. A copy of one
    it took is shown too, as taken before: an answer sent may not have reached the gateway."""
    gateway_side = subscribe("nothing/at/all")
    first, other = request_message(n=1), request_message(n=2)
    copy = {**other, "priority": "urgent", "sent_again": 2}
    runs = []
    for as_json in ([], ["--json"]):
        run = await CliRun.start(
            "procurement", "watch", "--broker", broker.url, "--group", "", *as_json
        )
        runs.append(run)
        await run.watching()
    try:
        for body in (first, {**first, "sent_again": 1}, copy):  # the first's copy: seen
            gateway_side.publish(f"{PREFIX}/procurement/request", json.dumps(body))
        text, as_json = runs
        await eventually(lambda: len(text.lines) == 3, what="every message shown")
        await eventually(
            lambda: len(as_json.lines) == 2 and repeats(as_json),
            what="every message shown, the copy of one taken on stderr",
        )
        for run in runs:
            assert await run.interrupt() == 130
    finally:
        for run in runs:
            await run.kill()
    reach = f"STATE --site s1 --gateway g1 --broker {broker.url}"
    repeat = (
        "sent again (2): the gateway has no answer yet \u2014 it may have been ordered already; "
        f"answer it with rxedge procurement status {other['request_id']} {reach}"
    )
    again = (
        "sent again (1): the gateway has no answer yet \u2014 taken here before; an answer sent "
        "may have gone to another gateway or been lost; answer it with rxedge procurement "
        f"status {first['request_id']} {reach}"
    )
    assert len(text.lines) == 3 and not text.lines[0].startswith("sent again")
    assert text.lines[0].endswith(
        f"  answer: rxedge procurement status {first['request_id']} {reach}"
    )
    assert text.lines[1].startswith(again + "  ")
    assert text.lines[2].startswith(repeat + "  ") and "URGENT" in text.lines[2]
    assert as_json.json_lines() == [first, {**copy, "repeat": repeat}], "what it took"
    assert repeats(as_json) == [text.lines[1]], "the copy of one it took: on stderr"


async def test_a_watch_without_a_client_id_says_it_keeps_nothing_while_away(
    broker: LocalBroker,
) -> None:
    runs = {
        "none": await CliRun.start("procurement", "watch", "--broker", broker.url),
        "kept": await CliRun.start(
            "procurement", "watch", "--broker", broker.url, "--client-id", "clerk-2"
        ),
    }
    try:
        for run in runs.values():
            await run.watching()
            assert await run.interrupt() == 130
    finally:
        for run in runs.values():
            await run.kill()
    warned = [e for e in runs["none"].errors if "--client-id" in e]
    assert warned == [
        "rxedge: warning: no --client-id, so no session: requests published while this watch "
        "is not running are not kept for it (give --client-id NAME to catch up on return)"
    ]
    assert not any("--client-id" in e for e in runs["kept"].errors)


async def test_a_stuck_ledger_gets_one_look_for_requests_to_send_again_not_a_pile(
    broker: LocalBroker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the ledger cannot be written the next look waits for the last to be carried out:
    the queue of changes keeps its room for the shelf's events."""
    looks: list[SendRequestsAgain] = []
    submit = LedgerLink.submit

    async def counted(link: LedgerLink, change: Change) -> None:
        if isinstance(change, SendRequestsAgain):
            looks.append(change)
        await submit(link, change)

    monkeypatch.setattr(LedgerLink, "submit", counted)
    monkeypatch.setattr("edge.daemon.gateway.RESEND_CHECK_SECONDS", 0.01)
    wanted = products(auto=1)
    db = tmp_path / "ledger.sqlite"
    stock(db, wanted)
    settings = {**config(db, broker.url, wanted), "procurement": {"resend_after_hours": HOURS}}
    gateway, task = await gateway_on(settings, SteppedClock(), [])
    stuck, inside = threading.Event(), threading.Event()
    try:
        await eventually(lambda: len(looks) >= 3, what="the looks going on")
        held = asyncio.ensure_future(gateway.ledger.ask(lambda _: (inside.set(), stuck.wait(10))))
        await eventually(inside.is_set, what="the writer stuck")
        before = len(looks)
        await asyncio.sleep(1.0)  # 100 looks at the old pace
        assert len(looks) <= before + 1, "one look waits for the writer, no pile behind it"
        stuck.set()
        await held
        await eventually(lambda: len(looks) > before + 3, what="the looks going on again")
    finally:
        stuck.set()
        await stop_gateway(gateway, task)


async def test_a_ledger_not_yet_upgraded_lists_its_requests_without_counting_the_outbox(
    tmp_path: Path,
) -> None:
    """A version 10 file (no index on request messages) read before the daemon upgrades it:
    `procurement list` and the page do not count copies through the whole outbox per request;
    sent_again is unknown (null) there."""
    rows = [
        "INSERT INTO procurement_requests (request_id, created_at, gtin, quantity, status,"
        f" confirmed_by, updated_at) VALUES ('r{n}', '2026-11-26T09:00:0{n}.000Z',"
        " '04012345123456', 4, 'requested', 'auto', '2026-11-26T09:00:00.000Z')"
        for n in range(3)
    ]
    rows += [
        "INSERT INTO outbox (created_at, kind, key, payload, sent_at) VALUES"
        f" ('2026-11-26T09:00:00.000Z', 'procurement_request', 'r{n}', '{{}}', 'x')"
        for n in (0, 0, 1)
    ]
    db = file_at_version(tmp_path / "v10.sqlite", 10, *rows)
    listed = await CliRun.start("procurement", "list", "--db", str(db), "--json")
    assert await listed.finish() == 0, listed.errors
    assert [(r["request_id"], r["sent_again"]) for r in listed.json_lines()] == [
        ("r0", None),
        ("r1", None),
        ("r2", None),
    ]
    ledger = connect_readonly(db)
    try:
        plan = ledger.execute(
            f"EXPLAIN QUERY PLAN SELECT {shown_columns(ledger)} FROM procurement_requests"
        ).fetchall()
        assert not any("outbox" in str(step[-1]) for step in plan), "no scan of the outbox"
        assert ledger.execute("PRAGMA user_version").fetchone()[0] == 10, "left as it was"
    finally:
        ledger.close()


@pytest.mark.parametrize("hours", [0, -1, 0.2, 721, "soon"])
def test_the_resend_setting_refuses_a_bad_value_by_its_key(hours: object) -> None:
    settings = {"site": "s1", "gateway": "g1", "procurement": {"resend_after_hours": hours}}
    with pytest.raises(ConfigError) as refused:
        parse_config(settings)
    (problem,) = refused.value.problems
    assert problem.startswith("procurement.resend_after_hours: ")
    assert "e.g. resend_after_hours = 4" in problem
