"""The procurement clerk's side over a real mosquitto: `rxedge procurement watch` in a share
group with other watchers, writing requests to a CSV file once each and accepting them at their
gateway, and `rxedge procurement status` answering a request (and showing a refusal)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from edge.cli.procurement.commands import ANSWER_STATES
from edge.cli.procurement.request_csv import CSV_COLUMNS, RequestCsv
from edge.cli.procurement.watch import Clerk, WatchOptions
from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker
from inventory.changes import Book
from sync.contract import schema
from sync.procurement_feed import ReceivedRequest, RequestKey, SeenRequests
from tests.conftest import Subscriber, eventually
from tests.edge.procurement_rig import (
    PREFIX,
    CliRun,
    change,
    config,
    gtin_of,
    products,
    request_message,
    requests,
    start_gateway,
    stock,
    stop_gateway,
    take_one,
)

TOPIC = f"{PREFIX}/procurement/request"


async def test_two_watchers_in_one_group_split_the_requests_each_seen_once(
    broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    watch = ["procurement", "watch", "--broker", broker.url, "--json", "--group", "clerks"]
    first = await CliRun.start(*watch, "--client-id", "clerk-1")
    second = await CliRun.start(*watch, "--client-id", "clerk-2")
    try:
        await first.watching()
        await second.watching()
        centre = subscribe("nothing/at/all")  # a publisher (and the contract watcher)
        sent = [request_message(n=1 + n % 9) for n in range(40)]
        for body in sent:
            centre.publish(TOPIC, json.dumps(body))
        await eventually(
            lambda: len(first.json_lines()) + len(second.json_lines()) >= 40,
            what="every request at one watcher or the other",
        )
        assert await first.interrupt() == 130
        assert await second.interrupt() == 130
    finally:
        await first.kill()
        await second.kill()
    seen_first = [line["request_id"] for line in first.json_lines()]
    seen_second = [line["request_id"] for line in second.json_lines()]
    assert seen_first and seen_second, "the group split the stream"
    assert not set(seen_first) & set(seen_second), "a request went to both watchers"
    together = seen_first + seen_second
    assert sorted(together) == sorted(b["request_id"] for b in sent), "each request once"


async def test_the_csv_file_gets_each_request_once_across_restarts_of_the_watch(
    broker: LocalBroker, tmp_path: Path
) -> None:
    table, seen = tmp_path / "requests.csv", tmp_path / "seen.txt"
    watch = [
        "procurement",
        "watch",
        "--broker",
        broker.url,
        "--client-id",
        "clerk-desk",
        "--csv",
        str(table),
        "--seen",
        str(seen),
    ]
    centre = Subscriber(broker.port, ["nothing/at/all"], "centre")  # sends a bad one on purpose
    one, two, three = (request_message(n=n) for n in (1, 2, 3))
    three["site"], three["gateway"] = "s2", "g7"  # from another pharmacy
    run = await CliRun.start(*watch)
    try:
        await run.watching()
        centre.publish(TOPIC, json.dumps(one))
        centre.publish(TOPIC, b"not a request")
        centre.publish(TOPIC, json.dumps(two))
        centre.publish(TOPIC, json.dumps(one))
        centre.publish("rxedge/v1/s2/g7/procurement/request", json.dumps(three))
        await eventually(lambda: len(run.lines) == 3, what="three requests printed")
        assert await run.interrupt() == 130
    finally:
        await run.kill()
    assert "GTIN" in run.lines[0] and one["request_id"] in run.lines[0]
    # Away: a new request and a copy of an old one wait in the session.
    four = request_message(n=4)
    centre.publish(TOPIC, json.dumps(four))
    centre.publish(TOPIC, json.dumps(two))
    again = await CliRun.start(*watch, "--count", "1", "--seconds", "20")
    try:
        assert await again.finish() == 0, again.errors
    finally:
        await again.kill()
    with table.open(newline="") as held:
        rows = list(csv.reader(held))
    assert rows[0] == list(CSV_COLUMNS)
    body = [dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:]]
    assert [r["request_id"] for r in body] == [b["request_id"] for b in (one, two, three, four)], (
        "each request once, header once"
    )
    assert [(r["site"], r["gateway"]) for r in body] == [("s1", "g1")] * 2 + [
        ("s2", "g7"),
        ("s1", "g1"),
    ]
    assert body[1] == {
        "received_at": body[1]["received_at"],
        "site": "s1",
        "gateway": "g1",
        "request_id": two["request_id"],
        "created_at": "2026-11-26T09:00:00.000Z",
        "gtin": gtin_of(20002),
        "name": "Product 2",
        "quantity": "2",
        "unit": "pack",
        "priority": "routine",
        "on_hand": "2",
        "on_order": "0",
        "reorder_point": "2",
        "par": "4",
        "confirmed_by": "auto",
    }
    assert body[1]["received_at"].endswith("Z")
    assert seen.read_text().split() == [
        f"{r['site']}/{r['gateway']}/{r['request_id']}" for r in body
    ], "each by its gateway and id"
    centre.close()


@pytest.fixture
async def short_product(
    broker: LocalBroker, tmp_path: Path
) -> AsyncIterator[tuple[Gateway, Path, str]]:
    """A gateway whose one product runs short once the test asks: its request, then, goes
    out to the centre."""
    wanted = products(auto=1)
    db = tmp_path / "ledger.sqlite"
    stock(db, wanted)
    gateway, task = await start_gateway(config(db, broker.url, wanted))
    yield gateway, db, wanted[0]["gtin"]
    await stop_gateway(gateway, task)


async def test_accept_moves_each_new_request_to_accepted_in_the_gateways_ledger(
    broker: LocalBroker, short_product: tuple[Gateway, Path, str], tmp_path: Path
) -> None:
    gateway, db, gtin = short_product
    table = tmp_path / "requests.csv"
    run = await CliRun.start(
        *("procurement", "watch", "--broker", broker.url, "--accept", "--by", "Purchasing"),
        *("--csv", str(table), "--client-id", "clerk-accepting"),
    )
    try:
        await run.watching()
        change(gateway, Book((take_one(gtin),)))
        (rid,) = await eventually(lambda: list(requests(db)), what="the request raised")
        await eventually(
            lambda: requests(db)[rid] == "accepted", what="the request accepted at the gateway"
        )
        assert rid in run.lines[0]
        assert await run.interrupt() == 130
    finally:
        await run.kill()
    assert table.read_text().count(rid) == 1


async def test_status_sends_the_answer_and_prints_the_gateways_refusal(
    broker: LocalBroker,
    short_product: tuple[Gateway, Path, str],
    subscribe: Callable[..., Subscriber],
) -> None:
    gateway, db, gtin = short_product
    centre = subscribe(f"{PREFIX}/cmd-result")
    change(gateway, Book((take_one(gtin),)))
    (rid,) = await eventually(lambda: list(requests(db)), what="the request raised")
    target = ["--broker", broker.url, "--site", "s1", "--gateway", "g1"]

    ordered = await CliRun.start(
        *("procurement", "status", rid, "ordered", "--note", "wholesaler order 88123"),
        *target,
    )
    assert await ordered.finish() == 0, ordered.errors
    assert ordered.lines == [f"applied: request {rid} is now ordered"]
    await eventually(lambda: requests(db)[rid] == "ordered", what="ordered at the gateway")

    backwards = await CliRun.start("procurement", "status", rid, "accepted", *target)
    assert await backwards.finish() == 1, backwards.errors
    (said,) = backwards.lines
    assert said.startswith(f"request {rid}: accepted refused by {PREFIX}: ")
    assert "cannot become accepted" in said
    assert requests(db)[rid] == "ordered", "a refused answer changes nothing"
    (refusal,) = [r for r in centre.payloads("/cmd-result") if r["status"] == "error"]
    assert refusal["command"] == "procurement-status" and refusal["command_id"] == rid

    bad = await CliRun.start("procurement", "status", "rx-17", "shipped", *target)
    assert await bad.finish() == 2
    assert any("not sent" in e and "request_id" in e for e in bad.errors), bad.errors
    answers = [a["status"] for a in centre.payloads("/cmd-result")]
    assert answers == ["applied", "error"], "the bad one never left"


def test_the_states_offered_are_the_contracts() -> None:
    assert list(ANSWER_STATES) == schema("procurement-status")["properties"]["status"]["enum"]


def test_seen_ids_survive_a_restart_and_their_file_stays_small(tmp_path: Path) -> None:
    path = tmp_path / "seen.txt"
    seen = SeenRequests(path, memory=3)
    for n in range(8):
        seen.add(RequestKey("s1", "g1", f"id-{n}"))
    seen.add(RequestKey("s1", "g1", "id-7"))  # known: not written again
    seen.close()
    assert path.read_text().split() == [f"s1/g1/id-{n}" for n in range(8)]
    again = SeenRequests(path, memory=3)
    assert RequestKey("s1", "g1", "id-7") in again and RequestKey("s1", "g1", "id-5") in again
    assert RequestKey("s1", "g1", "id-4") not in again
    assert path.read_text().split() == ["s1/g1/id-5", "s1/g1/id-6", "s1/g1/id-7"], "compacted"
    again.close()


async def test_the_watch_takes_its_broker_from_the_gateways_configuration(
    broker: LocalBroker, subscribe: Callable[..., Subscriber], tmp_path: Path
) -> None:
    gateway = tmp_path / "gateway.toml"
    gateway.write_text(f'site = "s1"\ngateway = "g1"\n[broker]\nurl = "{broker.url}"\n')
    watch = await CliRun.start("procurement", "watch", "--config", str(gateway), "--json")
    try:
        await watch.watching()
        body = request_message(n=3)
        subscribe("nothing/at/all").publish(TOPIC, json.dumps(body))
        await eventually(lambda: watch.json_lines(), what="the request printed")
        assert await watch.interrupt() == 130
    finally:
        await watch.kill()
    assert [line["request_id"] for line in watch.json_lines()] == [body["request_id"]]


async def watch_torn_and_new(
    broker: LocalBroker, torn: dict[str, Any], new: dict[str, Any], *files: str
) -> None:
    """A watch started again on `files` after a stop half-way through writing `torn` down: the
    broker hands `torn` over again (it was never acknowledged), then `new`; the watch ends
    with both taken."""
    centre = Subscriber(broker.port, ["nothing/at/all"], "centre")
    run = await CliRun.start(
        *("procurement", "watch", "--broker", broker.url, "--group", ""),
        *(*files, "--count", "2", "--seconds", "20"),
    )
    try:
        await run.watching()
        for body in (torn, new):
            centre.publish(TOPIC, json.dumps(body))
        assert await run.finish() == 0, run.errors
    finally:
        await run.kill()
        centre.close()


async def test_a_row_torn_by_a_crash_is_written_again_whole(
    broker: LocalBroker, tmp_path: Path
) -> None:
    table, seen = tmp_path / "requests.csv", tmp_path / "seen.txt"
    first, torn, new = (request_message(n=n) for n in (1, 2, 3))
    # The watch stopped (disk full, power cut) half-way through writing `torn` down, so it
    # was never acknowledged; the seen file lost the end of its last id the same way.
    header = ",".join(CSV_COLUMNS)
    row = f"2026-11-26T09:00:01.000Z,s1,g1,{first['request_id']},2026-11-26T09:00:00.000Z"
    table.write_text(f"{header}\r\n{row},x,Product 1,1,pack,routine,2,0,2,3,auto\r\n{row[:40]}")
    seen.write_text(f"{first['request_id']}\n{torn['request_id'][:9]}")
    await watch_torn_and_new(broker, torn, new, "--csv", str(table), "--seen", str(seen))
    with table.open(newline="") as held:
        rows = list(csv.reader(held))
    assert all(len(r) == len(CSV_COLUMNS) for r in rows), rows
    ids = [b["request_id"] for b in (first, torn, new)]
    assert [r[3] for r in rows[1:]] == ids
    kept = [ids[0], *(f"s1/g1/{rid}" for rid in ids[1:])]  # the older line read, the new added
    assert seen.read_text().split() == kept


async def test_a_row_torn_inside_a_cell_with_a_line_break_is_written_again_whole(
    broker: LocalBroker, tmp_path: Path
) -> None:
    """Cut off after the line break of a two-line `confirmed_by`: the file's last line end is
    inside that cell, so the row is not whole there; its request is not taken for one written
    down, and the next row does not start inside its open quote."""
    table = tmp_path / "requests.csv"
    first, torn, new = (request_message(n=n) for n in (1, 2, 3))
    torn["confirmed_by"] = "Ana Ruiz\n(night shift)"
    rows = io.StringIO(newline="")
    writer = csv.writer(rows)
    writer.writerow(CSV_COLUMNS)
    for body in (first, torn):
        reason = body["reason"]
        cells = {**body, **reason, "received_at": "2026-11-26T09:00:01.000Z"}
        writer.writerow([cells.get(c, "") for c in CSV_COLUMNS])
    written = rows.getvalue()
    table.write_text(written[: written.rindex("\n(night") + 4], newline="")  # "...\n(ni"
    await watch_torn_and_new(broker, torn, new, "--csv", str(table))
    with table.open(newline="") as held:
        found = list(csv.DictReader(held))
    assert [r["request_id"] for r in found] == [b["request_id"] for b in (first, torn, new)]
    assert [r["confirmed_by"] for r in found] == ["auto", "Ana Ruiz\n(night shift)", "auto"]


def test_a_csv_file_begun_with_a_news_column_is_read_and_kept_to_its_columns(
    tmp_path: Path,
) -> None:
    """A file a version that wrote news rows began: its request and news rows read back (the
    news row's request known as urgent), new rows of its own columns, `news` left empty."""
    table = tmp_path / "requests.csv"
    older = [*CSV_COLUMNS, "news"]
    request, other = request_message(), request_message(n=2)
    key = RequestKey("s1", "g1", request["request_id"])
    cells = {**request, **request["reason"], "received_at": "2026-11-26T09:00:01.000Z"}
    news = {**cells, "priority": "urgent", "quantity": "", "news": "now urgent: out of stock"}
    with table.open("w", newline="") as held:
        writer = csv.writer(held)
        writer.writerows([older, *([c.get(n, "") for n in older] for c in (cells, news))])
    rows = RequestCsv(table)
    assert rows.request_keys() == [key, key] and rows.urgent_keys() == [key]
    rows.write(ReceivedRequest(TOPIC, other), "2026-11-26T09:00:02.000Z")
    rows.close()
    with table.open(newline="") as held:
        found = list(csv.DictReader(held))
    assert [len(r) for r in found] == [len(older)] * 3
    assert (found[2]["request_id"], found[2]["news"]) == (other["request_id"], "")


def test_news_of_a_request_made_urgent_goes_to_stderr_and_is_remembered_beside_the_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --json and --csv (no --seen): stdout holds the request taken, the CSV file its row
    alone; the news is on stderr, and remembered in CSV.urgent, so not told again."""
    table = tmp_path / "requests.csv"
    body = request_message()
    alarm = {"kind": "stock_out", "state": "raised", "detail": {"gtin": body["gtin"]}}
    alarm["detail"] |= {"name": "Product 1", "urgent_requests": [body["request_id"]]}
    options = WatchOptions("mqtt://127.0.0.1:1", as_json=True, csv=table)
    for run in range(2):
        clerk = Clerk(options, "clerk", persistent=False)
        if run == 0:
            asyncio.run(clerk.take(ReceivedRequest(TOPIC, body)))
        clerk.news.alarm(f"{PREFIX}/alarms/stock_out-{body['gtin']}", json.dumps(alarm).encode())
        asyncio.run(clerk.stop())
        out, err = capsys.readouterr()
        if run == 0:
            assert [json.loads(line)["request_id"] for line in out.splitlines()] == [
                body["request_id"]
            ]
            assert err == (
                f"request {body['request_id']} at s1/g1 is now URGENT: Product 1 (GTIN "
                f"{body['gtin']}) is out of stock (alarm stock_out-{body['gtin']})\n"
            )
        else:
            assert (out, err) == ("", ""), "told once, across a restart"
    with table.open(newline="") as held:
        assert [r["request_id"] for r in csv.DictReader(held)] == [body["request_id"]]
    assert (tmp_path / "requests.csv.urgent").read_text().split() == [f"s1/g1/{body['request_id']}"]
