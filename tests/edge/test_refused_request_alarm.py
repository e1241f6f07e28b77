"""The running daemon, a real broker: a pick list short of a product makes an urgent request,
the pharmacist acknowledges the shortage alarm, and the clerk rejects the request. The retained
alarm, as anyone subscribing reads it, then names the refusal and the proposal that waits (no
longer the refused request as urgent), still acknowledged; once the pharmacist confirms the
proposal, it names the request that proposal became. The clerk's watch, following the alarms,
tells once of each request it took as routine that an alarm names as urgent: live, and after a
restart for what it had not told, never twice; on stderr, never on stdout nor in the CSV file,
which hold only the requests taken (a script ordering each orders each once). So it tells, once
each, what became of a request it took that the centre rejected."""

from __future__ import annotations

import asyncio
import csv
import json
import queue
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from edge.cli.procurement.alarm_news import AlarmNews
from edge.cli.procurement.request_csv import CSV_COLUMNS
from edge.demo.local_broker import LocalBroker
from inventory.alarms.lifecycle import AlarmKind, alarm_id
from inventory.changes import Book
from sync.commands import with_envelope
from sync.procurement_feed import ReceivedRequest, RequestKey, SeenRequests
from tests.conftest import Subscriber, eventually
from tests.edge.procurement_rig import (
    PREFIX,
    CliRun,
    change,
    config,
    products,
    proposals,
    request_message,
    requests,
    start_gateway,
    stock,
    stop_gateway,
    take_one,
)


def retained(port: int, topic: str) -> dict[str, Any] | None:
    """The retained message on `topic` as a client subscribing now gets it (None: none)."""
    reader = Subscriber(port, [topic], client_id="retained-reader")
    try:
        message = reader.messages.get(timeout=2)
    except queue.Empty:
        return None
    finally:
        reader.close()
    return json.loads(message.payload) if message.payload else None


async def test_the_retained_shortage_alarm_tells_of_a_rejected_request_and_its_proposal(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    wanted = products(auto=1)
    gtin = wanted[0]["gtin"]
    db = tmp_path / "ledger.sqlite"
    stock(db, wanted)
    topic = f"{PREFIX}/alarms/{alarm_id(AlarmKind.SHORTAGE, gtin)}"
    centre = subscribe(f"{PREFIX}/cmd-result")
    gateway, task = await start_gateway(config(db, broker.url, wanted))

    def alarm_where(
        check: Callable[[dict[str, Any]], bool],
    ) -> Callable[[], Awaitable[dict[str, Any] | None]]:
        async def read() -> dict[str, Any] | None:
            found = await asyncio.to_thread(retained, broker.port, topic)
            return found if found is not None and check(found) else None

        return read

    def command(name: str, body: dict[str, Any]) -> None:
        centre.publish(f"{PREFIX}/cmd/{name}", json.dumps(with_envelope(body)))

    try:
        command("pick", {"pick_id": "rx-1", "lines": [{"gtin": gtin, "quantity": 5}]})
        (x,) = await eventually(lambda: list(requests(db)), what="the urgent request")
        raised = await eventually(
            alarm_where(lambda a: a["detail"].get("urgent_requests") == [x]),
            what="the alarm naming the urgent request",
        )
        command("alarm-ack", {"alarm_id": raised["alarm_id"], "by": "Ana Ruiz"})
        await eventually(
            alarm_where(lambda a: a["state"] == "acknowledged"),
            what="the alarm acknowledged",
        )
        body = {"request_id": x, "status": "rejected", "note": "discontinued"}
        centre.publish(f"{PREFIX}/procurement/status", json.dumps(body))
        (y,) = await eventually(lambda: proposals(db), what="the proposal")
        refused = await eventually(
            alarm_where(lambda a: "refused_request" in a["detail"]),
            what="the alarm telling of the refusal",
        )
        assert (refused["state"], refused["acknowledged_by"]) == ("acknowledged", "Ana Ruiz")
        assert "urgent_requests" not in refused["detail"], "the rejected request is not open"
        assert (
            refused["detail"]["refused_request"],
            refused["detail"]["refused_status"],
            refused["detail"]["proposal_id"],
        ) == (x, "rejected", y)
        command("procurement-confirm", {"request_id": y, "by": "Dr. Ruiz"})
        confirmed = await eventually(
            alarm_where(lambda a: "requested_again" in a["detail"]),
            what="the alarm naming the confirmed request",
        )
        assert confirmed["detail"]["urgent_requests"] == [y]
        assert (confirmed["detail"]["requested_again"], confirmed["detail"]["refused_request"]) == (
            y,
            x,
        )
        assert "proposal_id" not in confirmed["detail"]
        assert confirmed["state"] == "acknowledged"
    finally:
        await stop_gateway(gateway, task)


async def test_the_watch_tells_once_of_a_request_made_urgent_after_it_took_it_as_routine(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    """Product 1's request is accepted as routine, then a pick list comes short: the watch says
    it is urgent now. Product 2's, taken as routine, runs out of stock while the watch is away:
    the watch run again tells that one, from the retained alarm, and not product 1's again."""
    wanted = products(auto=2)
    first, second = (p["gtin"] for p in wanted)
    db, table, seen = tmp_path / "ledger.sqlite", tmp_path / "requests.csv", tmp_path / "seen.txt"
    stock(db, wanted)
    centre = subscribe(f"{PREFIX}/cmd-result")
    gateway, task = await start_gateway(config(db, broker.url, wanted))
    watch = ["procurement", "watch", "--broker", broker.url, "--client-id", "clerk-urgent"]
    watch += ["--csv", str(table), "--seen", str(seen)]
    run = await CliRun.start(*watch, "--accept")
    try:
        await run.watching()
        change(gateway, Book((take_one(first), take_one(second))))
        await eventually(lambda: len(requests(db)) == 2, what="a request of each product")
        x, y = requests_of(db, first), requests_of(db, second)
        await eventually(lambda: set(requests(db).values()) == {"accepted"}, what="accepted")
        assert all("ROUTINE" in line for line in run.lines), run.lines
        pick = {"pick_id": "rx-1", "lines": [{"gtin": first, "quantity": 5}]}
        centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(pick)))
        told = await eventually(lambda: [e for e in run.errors if "URGENT:" in e], what="news")
        assert await run.interrupt() == 130
        assert not [line for line in run.lines if "is now URGENT" in line], "stdout: requests"
        change(gateway, Book((take_one(second), take_one(second))))  # none left: urgent
        await eventually(
            alarm_named(broker.port, f"{PREFIX}/alarms/{alarm_id(AlarmKind.STOCK_OUT, second)}"),
            what="the stock-out naming product 2's request",
        )
    finally:
        await run.kill()
        await stop_gateway(gateway, task)
    assert told == [
        f"request {x} at s1/g1 is now URGENT: pick list rx-1 asked for more Product 1 (GTIN "
        f"{first}) than the shelves held; 3 packs owed to short pick lists, 2 on hand (alarm "
        f"shortage-{first})"
    ]
    again = await CliRun.start(*watch, "--json")
    try:
        await again.watching()
        await eventually(lambda: any("following" in e for e in again.errors), what="following")
        marker = await told_after_the_retained(again, subscribe)
        assert await again.interrupt() == 130
    finally:
        await again.kill()
    news = [e for e in again.errors if "is now URGENT" in e]
    assert [n.split()[1] for n in news] == [y, marker], "product 1's not told again"
    assert news[0] == (
        f"request {y} at s1/g1 is now URGENT: Product 2 (GTIN {second}) is out of stock "
        f"(alarm stock_out-{second})"
    )
    taken = again.json_lines()
    assert len(taken) == len(again.lines), "stdout: one JSON object a request taken, nothing else"
    assert all("news" not in t and "quantity" in t for t in taken), taken
    assert marker in [t["request_id"] for t in taken]
    with table.open(newline="") as held:
        rows = list(csv.reader(held))
    assert rows[0] == list(CSV_COLUMNS) and "news" not in rows[0]
    kinds = [dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:]]
    ids = [r["request_id"] for r in kinds]
    assert len(ids) == len(set(ids)), "a row a request taken, no row of news"
    came = [r["priority"] for r in kinds if r["request_id"] in (x, y, marker)]
    assert came == ["routine"] * 3, "as they came"
    others = [r["priority"] for r in kinds if r["request_id"] not in (x, y, marker)]
    assert others == ["urgent"] * 2, "the requests made for what is missing: urgent as sent"


def requests_of(db: Path, gtin: str) -> str:
    """The one request the ledger holds of `gtin`."""
    with sqlite3.connect(db) as conn:
        (row,) = conn.execute(
            "SELECT request_id FROM procurement_requests WHERE gtin = ?", (gtin,)
        ).fetchall()
    return str(row[0])


def alarm_named(port: int, topic: str) -> Callable[[], Awaitable[bool]]:
    """Whether the retained alarm on `topic` names requests as urgent."""

    async def read() -> bool:
        found = await asyncio.to_thread(retained, port, topic)
        return bool(found and found["detail"].get("urgent_requests"))

    return read


async def told_after_the_retained(run: CliRun, subscribe: Callable[..., Subscriber]) -> str:
    """A request of another gateway taken, then a live alarm naming it told: the watch had the
    retained alarms before it (they come first on its alarm subscription). Its id."""
    body = request_message(site="s2", gateway="g7", n=9)
    other = subscribe("nothing/at/all")
    other.publish("rxedge/v1/s2/g7/procurement/request", json.dumps(body))
    await eventually(lambda: any(body["request_id"] in line for line in run.lines), what="taken")
    alarm = {
        "alarm_id": f"stock_out-{body['gtin']}",
        "kind": "stock_out",
        "subject": body["gtin"],
        "state": "raised",
        "raised_at": "2026-11-26T09:00:00.000Z",
        "acknowledged_at": None,
        "acknowledged_by": None,
        "detail": {
            "gtin": body["gtin"],
            "name": body["name"],
            "slots": [],
            "urgent_requests": [body["request_id"]],
        },
    }
    other.publish(f"rxedge/v1/s2/g7/alarms/{alarm['alarm_id']}", json.dumps(alarm))
    await eventually(
        lambda: any("URGENT" in e and body["request_id"] in e for e in run.errors),
        what="the news of the other gateway's request",
    )
    return str(body["request_id"])


def refusal_news(run: CliRun) -> list[str]:
    return [e for e in run.errors if " was rejected: " in e]


async def test_the_watch_tells_once_what_became_of_a_request_the_centre_rejected(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    """The clerk rejects a request the watch took: the watch tells that a proposal waits for a
    pharmacist, once (run again, the retained alarm still saying so, it does not tell it
    again); the pharmacist confirms it: the watch takes the request it became as any request
    and tells what became of the refused one. On stderr, never on stdout: those are lines of
    requests taken."""
    wanted = products(auto=1)
    gtin = wanted[0]["gtin"]
    db, seen = tmp_path / "ledger.sqlite", tmp_path / "seen.txt"
    stock(db, wanted)
    centre = subscribe(f"{PREFIX}/cmd-result")
    gateway, task = await start_gateway(config(db, broker.url, wanted))
    watch = ["procurement", "watch", "--broker", broker.url, "--client-id", "clerk-refusing"]
    watch += ["--seen", str(seen)]
    run = await CliRun.start(*watch)
    again: CliRun | None = None
    try:
        await run.watching()
        change(gateway, Book((take_one(gtin),)))
        (x,) = await eventually(lambda: list(requests(db)), what="the request")
        await eventually(lambda: any(x in line for line in run.lines), what="the request taken")
        body = {"request_id": x, "status": "rejected", "note": "discontinued"}
        centre.publish(f"{PREFIX}/procurement/status", json.dumps(body))
        (y,) = await eventually(lambda: proposals(db), what="the proposal")
        await eventually(lambda: refusal_news(run), what="the news of the refusal")
        assert await run.interrupt() == 130
        again = await CliRun.start(*watch)
        await again.watching()
        await eventually(lambda: any("following" in e for e in again.errors), what="following")
        confirm = {"request_id": y, "by": "Dr. Ruiz"}
        centre.publish(f"{PREFIX}/cmd/procurement-confirm", json.dumps(with_envelope(confirm)))
        await eventually(lambda: refusal_news(again), what="the news of the proposal sent")
        await eventually(lambda: any(y in line for line in again.lines), what="y taken")
        assert await again.interrupt() == 130
    finally:
        await run.kill()
        if again is not None:
            await again.kill()
        await stop_gateway(gateway, task)
    product = f"Product 1 (GTIN {gtin})"
    assert refusal_news(run) == [
        f"request {x} at s1/g1 was rejected: proposal {y} for {product} waits for a "
        f"pharmacist to confirm it (alarm shortage-{gtin})"
    ]
    assert refusal_news(again) == [
        f"request {x} at s1/g1 was rejected: the proposal for {product} was confirmed and "
        f"sent as request {y} (alarm shortage-{gtin})"
    ], "the proposal waiting not told again"
    assert not [line for line in run.lines + again.lines if "rejected" in line], "stdout"
    assert [line for line in again.lines if y in line and "ROUTINE" in line], again.lines


def test_refusal_news_is_told_once_each_of_a_request_taken_from_a_file_of_either_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One function decides for both watches: a refusal carried by two alarms is told once;
    one named before its request came is told once it is taken; a file of an older watch (a
    request told as urgent a line) loads, and the new lines keep its form."""
    kept = tmp_path / "seen.txt.urgent"
    urgent, refused, later = (request_message(n=n) for n in (1, 2, 3))
    kept.write_text(f"s1/g1/{urgent['request_id']}\n")
    detail = {"gtin": refused["gtin"], "name": "Product 2", "refused_status": "rejected"}
    detail["refused_request"] = refused["request_id"]
    alarm = {"kind": "shortage", "state": "raised", "detail": detail}
    alarm_out = {**alarm, "kind": "stock_out"}
    news = AlarmNews(SeenRequests(), kept, None)
    news.taken(ReceivedRequest(f"{PREFIX}/procurement/request", refused))
    for named in (alarm, alarm_out, alarm):
        topic = f"{PREFIX}/alarms/{named['kind']}-{refused['gtin']}"
        news.alarm(topic, json.dumps(named).encode())
    later_alarm = {**alarm, "detail": {**detail, "refused_request": later["request_id"]}}
    news.alarm(f"{PREFIX}/alarms/shortage-x", json.dumps(later_alarm).encode())
    assert capsys.readouterr().err == (
        f"request {refused['request_id']} at s1/g1 was rejected: no proposal for Product 2 "
        f"(GTIN {refused['gtin']}) waits: nothing more is needed (alarm shortage-"
        f"{refused['gtin']})\n"
    ), "once, whichever alarm carries it; the later request's not yet: not taken"
    news.taken(ReceivedRequest(f"{PREFIX}/procurement/request", later))
    assert f"request {later['request_id']} at s1/g1 was rejected" in capsys.readouterr().err
    news.close()
    assert kept.read_text().split("\n")[:-1] == [
        f"s1/g1/{urgent['request_id']}",
        f"s1/g1/{refused['request_id']} nothing",
        f"s1/g1/{later['request_id']} nothing",
    ]
    again = AlarmNews(SeenRequests(), kept, None)
    assert RequestKey("s1", "g1", urgent["request_id"]) in again.told
    again.alarm(f"{PREFIX}/alarms/shortage-x", json.dumps(later_alarm).encode())
    again.close()
    assert capsys.readouterr().err == "", "told before the restart"
