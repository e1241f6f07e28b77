"""`rxedge procurement status` tells the clerk what the gateway made of their very answer:
applied, a duplicate, refused, or not yet confirmed when the gateway is away; and a status the
delivery overtook is taken, not refused."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from edge.cli.exit_statuses import commands_of
from edge.cli.main import _parser, main
from edge.demo.local_broker import LocalBroker
from inventory.changes import Book
from inventory.replenishment.orders import answered_at
from tests.conftest import Subscriber, eventually
from tests.edge.procurement_rig import (
    GATEWAY,
    PREFIX,
    SITE,
    CliRun,
    change,
    config,
    one_request,
    products,
    proposals,
    put_back,
    requests,
    sent_ids,
    start_gateway,
    stock,
    stop_gateway,
    take_one,
)
from tests.sync.mute_broker import MuteBroker


def request_row(db: Path, rid: str, *columns: str) -> tuple[str, ...]:
    """The request's `columns` as the ledger has them."""
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            f"SELECT {', '.join(columns)} FROM procurement_requests WHERE request_id = ?", (rid,)
        ).fetchone()
    return tuple(str(value) for value in row)


def status_of(db: Path, rid: str) -> tuple[str, ...]:
    """The request's state, note and who gave the last answer, as the ledger has them."""
    return request_row(db, rid, "status", "note", "answered_by")


def answers(centre: Subscriber, count: int) -> list[dict[str, object]]:
    """The gateway's answers on cmd-result once there are `count` of them (else none)."""
    said = centre.payloads("/cmd-result")
    return said if len(said) == count else []


async def clerk(broker: LocalBroker, rid: str, *said: str) -> CliRun:
    """The clerk's `rxedge procurement status` about `rid`, started."""
    target = ("--broker", broker.url, "--site", SITE, "--gateway", GATEWAY)
    return await CliRun.start("procurement", "status", rid, *said, *target)


async def test_the_clerk_is_told_the_answer_was_applied_and_a_repeat_is_a_duplicate(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    centre = subscribe(f"{PREFIX}/cmd-result")
    db, _, gateway, task, rid = await one_request(broker.url, tmp_path)
    try:
        ordered = await clerk(broker, rid, "ordered", "--note", "order 88123", "--json")
        assert await ordered.finish() == 0, ordered.errors
        (said,) = ordered.json_lines()
        assert (said["outcome"], said["state"]) == ("applied", "ordered")
        assert status_of(db, rid)[0] == "ordered", "taken means written"
        again = await clerk(broker, rid, "ordered", "--by", "Ana at purchasing")
        assert await again.finish() == 0, again.errors
    finally:
        await stop_gateway(gateway, task)
    assert again.lines == [
        f"duplicate: request {rid} was already ordered; who said it (and the note, if one was "
        "given) is kept"
    ]
    assert status_of(db, rid) == ("ordered", "order 88123", "Ana at purchasing")
    answers = centre.payloads("/cmd-result")
    assert [(a["status"], a["given"], a["state"]) for a in answers] == [
        ("applied", "ordered", "ordered"),
        ("duplicate", "ordered", "ordered"),
    ]
    assert answers[0]["reply_to"] == said["message_id"], "the answer names the clerk's message"
    assert answers[1]["reply_to"] != said["message_id"]


async def test_an_answer_the_gateway_is_away_for_is_sent_but_not_yet_confirmed(
    broker: LocalBroker, tmp_path: Path
) -> None:
    db, settings, gateway, task, rid = await one_request(broker.url, tmp_path)
    await stop_gateway(gateway, task)
    away = await clerk(broker, rid, "shipped", "--wait", "1")
    assert await away.finish() == 4, away.errors
    (said,) = away.lines
    assert said.startswith(f"sent, not yet confirmed: {PREFIX} did not answer within 1 s"), said
    unconfirmed = await clerk(broker, rid, "shipped", "--wait", "1", "--json")
    assert await unconfirmed.finish() == 4, unconfirmed.errors
    (said,) = unconfirmed.json_lines()
    assert (said["outcome"], said["broker_acknowledged"]) == ("unconfirmed", True)
    gateway, task = await start_gateway(settings)  # back: the broker kept both for it
    try:
        await eventually(lambda: requests(db)[rid] == "shipped", what="applied on its return")
        later = await clerk(broker, rid, "shipped")  # the clerk asks again, as told
        assert await later.finish() == 0, later.errors
    finally:
        await stop_gateway(gateway, task)
    assert later.lines[0].startswith(f"duplicate: request {rid} was already shipped")


async def test_an_answer_the_broker_did_not_acknowledge_is_told_apart_in_json_too() -> None:
    """A broker that takes the connection and the answer but never acknowledges it (its
    storage hung): unconfirmed, as when the gateway is away, but the clerk is told the broker
    may not have it, in the JSON as in the line."""
    mute = MuteBroker()
    await mute.start()
    try:
        rid = "4b7ab2ed-2487-490a-8e7c-ba86c3cbd7dd"
        target = ("--broker", mute.url, "--site", SITE, "--gateway", GATEWAY, "--wait", "1")
        said = await CliRun.start("procurement", "status", rid, "shipped", *target, "--json")
        assert await said.finish() == 4, said.errors
        told = await CliRun.start("procurement", "status", rid, "shipped", *target)
        assert await told.finish() == 4, told.errors
    finally:
        await mute.stop()
    (answer,) = said.json_lines()
    assert (answer["outcome"], answer["broker_acknowledged"]) == ("unconfirmed", False)
    assert "nor did the broker acknowledge it" in told.lines[0], told.lines
    assert [m.topic for m in mute.received] == [f"{PREFIX}/procurement/status"] * 2


async def test_a_refusal_of_another_message_about_the_request_is_not_taken_for_the_clerks(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    _, settings, gateway, task, rid = await one_request(broker.url, tmp_path)
    await stop_gateway(gateway, task)
    centre = subscribe(f"{PREFIX}/procurement/status", f"{PREFIX}/cmd-result")
    # Another system's answer about the same request, one the gateway will refuse, comes first.
    other = {"request_id": rid, "status": "delivered"}
    centre.publish(f"{PREFIX}/procurement/status", json.dumps(other))
    ordered = await clerk(broker, rid, "ordered", "--wait", "30")
    # The clerk's answer is out, so its sender listens for the gateway's answers by now.
    await eventually(
        lambda: [s for s in centre.payloads("/procurement/status") if s["status"] == "ordered"],
        what="the clerk's answer published",
    )
    gateway, task = await start_gateway(settings)
    try:
        assert await ordered.finish() == 0, (ordered.lines, ordered.errors)
    finally:
        await stop_gateway(gateway, task)
    assert ordered.lines == [f"applied: request {rid} is now ordered"]
    answers = centre.payloads("/cmd-result")
    assert [(a["status"], "reply_to" in a) for a in answers] == [
        ("error", False),
        ("applied", True),
    ], "the other's refusal came first, to the same request, and was not the clerk's"


async def test_shipped_said_after_the_delivery_closed_the_request_is_taken_and_kept(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    centre = subscribe(f"{PREFIX}/cmd-result")
    db, _, gateway, task, rid = await one_request(broker.url, tmp_path)  # 3 -> 2
    try:
        gtin = products(auto=1)[0]["gtin"]  # the one product
        change(gateway, Book((put_back(gtin, 1),)))  # the packs come before the word
        await eventually(lambda: requests(db)[rid] == "received", what="closed by the delivery")
        shipped = await clerk(broker, rid, "shipped", "--note", "DHL 1Z999", "--by", "Ana")
        assert await shipped.finish() == 0, (shipped.lines, shipped.errors)
        cancelled = await clerk(broker, rid, "cancelled")
        assert await cancelled.finish() == 1, cancelled.errors
    finally:
        await stop_gateway(gateway, task)
    assert shipped.lines == [
        f"applied: request {rid} was already received (its delivery was booked in first); "
        "shipped is kept as said"
    ]
    assert status_of(db, rid) == ("received", "DHL 1Z999", "Ana")
    (said,) = cancelled.lines
    assert "is received, closed here; it cannot become cancelled" in said, said
    assert [a["status"] for a in centre.payloads("/cmd-result")] == ["applied", "error"]


def answered(db: Path, rid: str) -> tuple[str, ...]:
    """The request's note, who gave the last answer and when, as the ledger has them."""
    return request_row(db, rid, "note", "answered_by", "answered_at")


async def test_the_centres_text_is_one_line_and_its_time_is_kept_in_utc(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    """Raw answers on `procurement/status`: a note and a name with a line break, a tab and
    terminal escapes are refused, saying why; a time with another offset is kept in UTC; a
    tracking number sent later without a time is dated when the gateway took it. The list
    names each request's product beside it, last (a name has spaces)."""
    centre = subscribe(f"{PREFIX}/cmd-result")
    db, settings, gateway, task, rid = await one_request(broker.url, tmp_path)
    topic = f"{PREFIX}/procurement/status"

    try:
        note, by = "PO 77\nDHL\x1b[31m red\x1b[0m\rX", "Clerk\tB"
        hostile = {"request_id": rid, "status": "shipped", "note": note, "by": by}
        centre.publish(topic, json.dumps(hostile))
        (refusal,) = await eventually(lambda: answers(centre, 1), what="refused")
        said = {"request_id": rid, "status": "shipped", "note": "PO 77", "by": "Purchasing"}
        centre.publish(topic, json.dumps({**said, "at": "2026-12-07T23:30:00+02:00"}))
        (_, shipped) = await eventually(lambda: answers(centre, 2), what="shipped")
        at_centre = answered(db, rid)
        centre.publish(topic, json.dumps({"request_id": rid, "status": "shipped", "note": "DHL"}))
        (*_, again) = await eventually(lambda: answers(centre, 3), what="duplicate")
        later = answered(db, rid)
        clerk_by = await clerk(broker, rid, "shipped", "--by", "Ana\nRuiz")
        assert await clerk_by.finish() == 2, clerk_by.lines
    finally:
        await stop_gateway(gateway, task)
    assert (refusal["status"], refusal["command_id"]) == ("error", rid)
    assert refusal["error"] == (
        "by: '\\t' at character 6 is a control character: write it on one line, without line "
        "breaks, tabs or escape sequences; note: '\\n' at character 6 is a control character: "
        "write it on one line, without line breaks, tabs or escape sequences"
    )
    assert shipped["status"] == "applied" and again["status"] == "duplicate", (shipped, again)
    assert at_centre == ("PO 77", "Purchasing", "2026-12-07T21:30:00.000Z"), "UTC, as stored"
    assert later == ("DHL", "centre", again["at"]), "no time given: when the gateway took it"
    assert "by: '\\n' at character 4 is a control character" in clerk_by.errors[0]
    gateway_toml = tmp_path / "gateway.toml"
    product = settings["products"][0]  # type: ignore[index]
    gateway_toml.write_text(
        f'site = "{SITE}"\ngateway = "{GATEWAY}"\ndatabase = "{db}"\n[[products]]\n'
        f'gtin = "{product["gtin"]}"\nname = "{product["name"]}"\nreorder_point = 1\npar = 3\n'
    )
    listed = await CliRun.start("procurement", "list", "--config", str(gateway_toml))
    assert await listed.finish() == 0, listed.errors
    header, row = listed.lines
    assert header.split()[-1] == "name" and row.endswith(product["name"]), listed.lines
    columns = dict(zip(header.split(), row.split(), strict=False))
    assert (columns["gtin"], columns["status"]) == (product["gtin"], "shipped")


async def test_a_refusal_says_what_to_send_or_wait_for_instead(
    broker: LocalBroker, tmp_path: Path
) -> None:
    """`rejected` for a request already shipped: send cancelled for what will not come; any
    answer about a proposal: it was never sent, and waits for a pharmacist."""
    wanted = products(auto=1, ask=1)
    db = tmp_path / "ledger.sqlite"
    stock(db, wanted)
    gateway, task = await start_gateway(config(db, broker.url, wanted))
    try:
        change(gateway, Book((take_one(wanted[0]["gtin"]), take_one(wanted[1]["gtin"]))))
        (proposal,) = await eventually(lambda: proposals(db), what="the proposal")
        (rid,) = await eventually(lambda: sent_ids(db), what="the request sent")
        shipped = await clerk(broker, rid, "shipped")
        assert await shipped.finish() == 0, shipped.lines
        rejected = await clerk(broker, rid, "rejected")
        early = await clerk(broker, proposal, "accepted")
        assert (await rejected.finish(), await early.finish()) == (1, 1)
    finally:
        await stop_gateway(gateway, task)
    assert rejected.lines == [
        f"request {rid}: rejected refused by {PREFIX}: request {rid} is shipped; it cannot "
        "become rejected: send cancelled for what will not come"
    ]
    assert early.lines == [
        f"request {proposal}: accepted refused by {PREFIX}: request {proposal} is proposed; it "
        "cannot become accepted: it was never sent to the centre, and waits for a pharmacist's "
        "confirmation (rxedge procurement confirm, or the page)"
    ]


@pytest.mark.parametrize("wait", ["0", "-1", "nan", "inf", "soon"])
def test_wait_is_a_number_of_seconds_above_zero(
    wait: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not waiting at all would report an answer delivered as perhaps not even with the
    broker: refused before anything is sent, naming the option (`alarms ack` alike)."""
    rid = "4b7ab2ed-2487-490a-8e7c-ba86c3cbd7dd"
    for command in (
        ["procurement", "status", rid, "shipped"],
        ["alarms", "ack", "a-1", "--by", "A"],
    ):
        with pytest.raises(SystemExit) as ended:
            main([*command, "--wait", wait, "--broker", "mqtt://127.0.0.1:9"])
        assert ended.value.code == 2
        assert (
            f"argument --wait: {wait!r} is not a number of seconds above 0"
            in capsys.readouterr().err
        )


def test_status_json_help_says_one_object() -> None:
    (status,) = [c for p, c in commands_of(_parser()).items() if p == "procurement status"]
    (json_option,) = [a for a in status._actions if "--json" in a.option_strings]
    assert json_option.help == "the outcome as one JSON object"


async def test_a_time_beyond_what_utc_can_hold_is_refused_and_the_gateway_goes_on(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    """An answer dated at the calendar's very end with an offset has no UTC time: it is
    refused on cmd-result, not taken (nor stops the gateway), and the next answer is applied."""
    centre = subscribe(f"{PREFIX}/cmd-result")
    db, _settings, gateway, task, rid = await one_request(broker.url, tmp_path)
    topic = f"{PREFIX}/procurement/status"

    try:
        far = {"request_id": rid, "status": "accepted", "at": "9999-12-31T23:59:59-01:00"}
        centre.publish(topic, json.dumps(far))
        (refusal,) = await eventually(lambda: answers(centre, 1), what="refused")
        centre.publish(topic, json.dumps({**far, "at": "2026-12-07T12:00:00Z"}))
        (_, accepted) = await eventually(lambda: answers(centre, 2), what="accepted")
        assert not task.done(), "the gateway goes on"
    finally:
        await stop_gateway(gateway, task)
    assert (refusal["status"], refusal["command_id"]) == ("error", rid), refusal
    assert "is beyond the dates a clock can keep in UTC" in str(refusal["error"]), refusal
    assert accepted["status"] == "applied", accepted
    assert answered(db, rid)[2] == "2026-12-07T12:00:00.000Z"
    heard = "2026-12-07T12:00:01.000Z"  # and the ledger's own reading never stops on one
    assert answered_at("0001-01-01T00:00:00+01:00", heard) == heard
