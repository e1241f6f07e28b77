"""The centre's answers on `procurement/status` reaching a running gateway: every answer is
applied or refused in words, however many arrive at once; and the pharmacist's confirmation of
a proposal, answered in words too (with what it leaves out of the packs owed to short lists)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge.demo.local_broker import LocalBroker
from inventory.changes import Book
from inventory.keeper import InventoryKeeper
from inventory.replenishment.policy import Product
from inventory.replenishment.requests import Priority, ProcurementRequest, RequestStatus
from tests.conftest import Subscriber, eventually
from tests.edge.procurement_rig import (
    GATEWAY,
    ON_SHELF,
    PREFIX,
    SITE,
    CliRun,
    change,
    config,
    products,
    proposals,
    put_back,
    requests,
    start_gateway,
    stock,
    stop_gateway,
    take_one,
)


async def test_answers_queued_while_the_gateway_was_away_are_all_applied_on_its_return(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    wanted = products(auto=20)
    db = tmp_path / "ledger.sqlite"
    stock(db, wanted)
    settings = config(db, broker.url, wanted)
    gateway, task = await start_gateway(settings)
    try:
        for product in wanted:
            change(gateway, Book((take_one(product["gtin"]),)))
        await eventually(lambda: len(requests(db)) == 20, what="twenty requests raised")
    finally:
        await stop_gateway(gateway, task)
    centre = subscribe(f"{PREFIX}/cmd-result")
    # The gateway is away (its session kept); the centre answers each request twice.
    for rid in requests(db):
        for status in ("accepted", "ordered"):
            body = {"request_id": rid, "status": status, "by": "Purchasing"}
            centre.publish(f"{PREFIX}/procurement/status", json.dumps(body))
    gateway, task = await start_gateway(settings)
    try:
        await eventually(
            lambda: set(requests(db).values()) == {"ordered"},
            timeout=15,
            what="every answer applied",
        )
    finally:
        await stop_gateway(gateway, task)
    assert [r for r in centre.payloads("/cmd-result") if r["status"] == "error"] == []


def note_of(db: Path, rid: str) -> str:
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT note FROM procurement_requests WHERE request_id = ?", (rid,)
        ).fetchone()
    return str(row[0])


def received_of(db: Path, rid: str) -> int:
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT received FROM procurement_requests WHERE request_id = ?", (rid,)
        ).fetchone()
    return int(row[0])


async def test_a_shipment_that_came_short_is_cancelled_for_the_rest_and_no_longer_on_order(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    wanted = products(auto=1)
    wanted[0]["par"] = 8  # one pack taken: a request for 6
    gtin = wanted[0]["gtin"]
    db = tmp_path / "ledger.sqlite"
    stock(db, wanted)
    centre = subscribe(f"{PREFIX}/procurement/request")
    target = ["--broker", broker.url, "--site", SITE, "--gateway", GATEWAY]
    gateway, task = await start_gateway(config(db, broker.url, wanted))
    try:
        change(gateway, Book((take_one(gtin),)))
        (rid,) = await eventually(lambda: list(requests(db)), what="the request raised")
        shipped = await CliRun.start("procurement", "status", rid, "shipped", *target)
        assert await shipped.finish() == 0, shipped.errors
        await eventually(lambda: requests(db)[rid] == "shipped", what="shipped at the gateway")
        change(gateway, Book((put_back(gtin, 2),)))  # two of the six arrive
        await eventually(lambda: received_of(db, rid) == 2, what="two booked in against it")
        # The wholesaler will not send the other four: the clerk says so.
        rest = ("--note", "4 not delivered, out of stock at the wholesaler")
        cancelled = await CliRun.start("procurement", "status", rid, "cancelled", *rest, *target)
        assert await cancelled.finish() == 0, cancelled.lines
        assert cancelled.lines == [f"applied: request {rid} is now cancelled"]
        await eventually(lambda: requests(db)[rid] == "cancelled", what="cancelled at the gateway")
        assert received_of(db, rid) == 2, "what arrived stays booked against it"
        # Nothing is on order any more: the next fall to the reorder point asks again.
        for _ in range(3):
            change(gateway, Book((take_one(gtin),)))
        await eventually(lambda: len(requests(db)) == 2, what="a new request once short again")
        # In the ledger is not yet at the centre: the publisher sends it a moment later.
        new = await eventually(
            lambda: [r for r in centre.payloads("/procurement/request") if r["request_id"] != rid],
            what="the new request at the centre",
        )
    finally:
        await stop_gateway(gateway, task)
    assert [(r["quantity"], r["reason"]["on_order"]) for r in new] == [(6, 0)]


async def test_the_pharmacists_confirm_shows_the_gateways_answer_and_its_refusal(
    broker: LocalBroker, tmp_path: Path
) -> None:
    wanted = products(auto=0, ask=1)
    db = tmp_path / "ledger.sqlite"
    stock(db, wanted)
    target = ["--broker", broker.url, "--site", SITE, "--gateway", GATEWAY]
    gateway, task = await start_gateway(config(db, broker.url, wanted))
    try:
        change(gateway, Book((take_one(wanted[0]["gtin"]),)))
        (proposal,) = await eventually(lambda: proposals(db), what="a proposal waiting")
        confirm = ("procurement", "confirm", proposal, "--by", "Dr. Ruiz", *target)
        confirmed = await CliRun.start(*confirm, "--quantity", "4")
        assert await confirmed.finish(timeout=20) == 0, confirmed.errors
        assert requests(db)[proposal] == "requested"
        (said,) = confirmed.lines
        assert "confirmed" in said and proposal in said, said
        again = await CliRun.start(*confirm)
        assert await again.finish(timeout=20) == 1, again.errors
        assert any("only a proposed one is confirmed" in line for line in again.lines)
    finally:
        await stop_gateway(gateway, task)


async def reject(rid: str, note: str, target: list[str]) -> None:
    """The clerk rejects a request with `rxedge procurement status`."""
    run = await CliRun.start("procurement", "status", rid, "rejected", "--note", note, *target)
    assert await run.finish() == 0, run.lines


def movements(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM movements").fetchone()[0])


async def test_a_request_refused_while_the_shelf_is_empty_leaves_a_proposal_not_a_storm(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    wanted = products(auto=1)
    wanted[0]["par"] = 8
    gtin = wanted[0]["gtin"]
    db = tmp_path / "ledger.sqlite"
    stock(db, wanted)
    centre = subscribe(f"{PREFIX}/procurement/request")
    target = ["--broker", broker.url, "--site", SITE, "--gateway", GATEWAY]
    gateway, task = await start_gateway(config(db, broker.url, wanted))
    try:
        for _ in range(3):  # the shelf runs empty; one request covers it
            change(gateway, Book((take_one(gtin),)))
        (first,) = await eventually(lambda: list(requests(db)), what="the request raised")
        await reject(first, "not listed at this wholesaler", target)
        # Nothing on order, none on the shelf: a pharmacist is asked whether to ask again.
        (proposal,) = await eventually(lambda: proposals(db), what="a proposal to ask again")
        assert requests(db)[first] == "rejected"
        confirm = ("procurement", "confirm", proposal, "--by", "Dr. Ruiz", *target)
        confirmed = await CliRun.start(*confirm)
        assert await confirmed.finish() == 0, confirmed.lines
        await eventually(lambda: requests(db)[proposal] == "requested", what="asked again")
        await reject(proposal, "still not listed", target)
        await eventually(lambda: len(proposals(db)) == 1, what="one more proposal")
        # The pharmacist leaves it; stock falls again meanwhile: nothing goes out by itself.
        booked = movements(db) + 2
        change(gateway, Book((put_back(gtin, 1),)))
        change(gateway, Book((take_one(gtin),)))
        await eventually(lambda: movements(db) == booked, what="the stock moved")
    finally:
        await stop_gateway(gateway, task)
    sent = centre.payloads("/procurement/request")
    assert [(r["quantity"], r["priority"], r["confirmed_by"]) for r in sent] == [
        (6, "routine", "auto"),
        (8, "urgent", "Dr. Ruiz"),
    ], "asked again once, on the pharmacist's word; never by itself"
    assert sorted(requests(db).values()) == ["proposed", "rejected", "rejected"]


async def test_an_answer_repeated_with_a_new_note_is_kept_and_the_list_shows_it(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    wanted = products(auto=1)
    db = tmp_path / "ledger.sqlite"
    stock(db, wanted)
    centre = subscribe(f"{PREFIX}/cmd-result")
    target = ["--broker", broker.url, "--site", SITE, "--gateway", GATEWAY]

    async def answer(taken: str, rid: str, *said: str) -> None:
        run = await CliRun.start("procurement", "status", rid, *said, *target)
        assert await run.finish() == 0, run.lines
        assert run.lines[0].startswith(f"{taken}: request {rid} "), run.lines

    async def listed(rid: str) -> dict[str, object]:
        run = await CliRun.start("procurement", "list", "--db", str(db), "--json")
        assert await run.finish() == 0, run.errors
        return next(r for r in run.json_lines() if r["request_id"] == rid)

    gateway, task = await start_gateway(config(db, broker.url, wanted))
    try:
        change(gateway, Book((take_one(wanted[0]["gtin"]),)))
        (rid,) = await eventually(lambda: list(requests(db)), what="the request raised")
        await answer("applied", rid, "shipped", "--by", "Purchasing")
        await eventually(lambda: requests(db)[rid] == "shipped", what="shipped at the gateway")
        # The carrier's tracking number comes an hour later: the same status, with it.
        await answer(
            "duplicate", rid, "shipped", "--note", "DHL 1Z999", "--by", "Ana at purchasing"
        )
        await eventually(lambda: note_of(db, rid) == "DHL 1Z999", what="the tracking number")
        shown = await listed(rid)
        assert (shown["status"], shown["note"], shown["answered_by"]) == (
            "shipped",
            "DHL 1Z999",
            "Ana at purchasing",
        )
        # The rest is cancelled, said twice by mistake (no error), then the refund's number.
        await answer("applied", rid, "cancelled", "--note", "rest not coming")
        await eventually(lambda: requests(db)[rid] == "cancelled", what="cancelled")
        await answer("duplicate", rid, "cancelled", "--note", "rest not coming")
        await answer("duplicate", rid, "cancelled", "--note", "refund 4471 issued")
        await eventually(lambda: note_of(db, rid) == "refund 4471 issued", what="the refund")
    finally:
        await stop_gateway(gateway, task)
    assert [r for r in centre.payloads("/cmd-result") if r["status"] == "error"] == []
    assert (await listed(rid))["status"] == "cancelled"


async def test_a_proposal_the_stock_outgrew_is_withdrawn_and_the_next_shortage_asks_afresh(
    broker: LocalBroker, tmp_path: Path
) -> None:
    wanted = products(auto=0, ask=1)
    wanted[0]["par"] = 8
    gtin = wanted[0]["gtin"]
    db = tmp_path / "ledger.sqlite"
    stock(db, wanted)
    gateway, task = await start_gateway(config(db, broker.url, wanted))
    try:
        change(gateway, Book((take_one(gtin),)))  # 3 -> 2: a proposal for 6
        (stale,) = await eventually(lambda: proposals(db), what="a proposal waiting")
        change(gateway, Book((put_back(gtin, 6),)))  # a transfer from a sister branch: 8
        await eventually(lambda: requests(db)[stale] == "withdrawn", what="it withdrawn")
        run = await CliRun.start("procurement", "list", "--open", "--db", str(db), "--json")
        assert await run.finish() == 0 and run.json_lines() == [], run.lines
        for _ in range(6):  # weeks later, down to 2 again
            change(gateway, Book((take_one(gtin),)))
        (fresh,) = await eventually(lambda: proposals(db), what="a new proposal")
    finally:
        await stop_gateway(gateway, task)
    assert fresh != stale
    with sqlite3.connect(db) as conn:
        (quantity,) = conn.execute(
            "SELECT quantity FROM procurement_requests WHERE request_id = ?", (fresh,)
        ).fetchone()
    assert quantity == 6, "what is missing now"


async def test_a_proposal_confirmed_after_the_shelf_emptied_asks_for_what_is_missing_then(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    wanted = products(auto=0, ask=1)
    wanted[0]["par"] = 8
    gtin = wanted[0]["gtin"]
    db = tmp_path / "ledger.sqlite"
    stock(db, wanted)
    centre = subscribe(f"{PREFIX}/procurement/request")
    target = ["--broker", broker.url, "--site", SITE, "--gateway", GATEWAY, "--json"]
    gateway, task = await start_gateway(config(db, broker.url, wanted))
    try:
        change(gateway, Book((take_one(gtin),)))  # 3 -> 2: a proposal for 6
        (proposal,) = await eventually(lambda: proposals(db), what="a proposal waiting")
        booked = movements(db) + 2
        for _ in range(2):  # the shelf empties while it waits
            change(gateway, Book((take_one(gtin),)))
        await eventually(lambda: movements(db) == booked, what="the shelf emptied")
        confirm = ("procurement", "confirm", proposal, "--by", "Dr. Ruiz", *target)
        confirmed = await CliRun.start(*confirm)
        assert await confirmed.finish(timeout=20) == 0, confirmed.errors
        (request,) = await eventually(
            lambda: centre.payloads("/procurement/request"), what="the request sent"
        )
    finally:
        await stop_gateway(gateway, task)
    assert (request["quantity"], request["priority"], request["reason"]["on_hand"]) == (
        8,
        "urgent",
        0,
    ), "par 8, none on the shelf, none on order: 8"
    (said,) = confirmed.json_lines()
    assert said["quantity"] == 8, "the pharmacist is told what was sent"


def proposal_owing(db: Path, product: dict[str, Any], owed: int) -> str:
    """A proposal for `owed` packs of `product`, all owed to pick lists that came short, as
    the gateway writes one (before it starts); its id."""
    policy = Product(product["gtin"], product["name"], product["reorder_point"], product["par"])
    keeper = InventoryKeeper(db, {}, SITE, GATEWAY)
    try:
        proposal = ProcurementRequest(
            str(uuid.uuid4()),
            keeper.stamp(),
            policy,
            owed,
            Priority.URGENT,
            ON_SHELF,
            0,
            "",
            RequestStatus.PROPOSED,
            owed=owed,
        )
        keeper.record(proposal.created_at, [], [proposal])
    finally:
        keeper.close()
    return proposal.request_id


async def test_confirming_fewer_packs_than_owed_says_how_many_are_not_covered(
    broker: LocalBroker, tmp_path: Path
) -> None:
    """A proposal owes 5 packs to short pick lists; the pharmacist confirms 3: it is sent, the
    command says the other 2 are not covered, and the list shows what the request owes."""
    wanted = products(auto=0, ask=1)
    db = tmp_path / "ledger.sqlite"
    stock(db, wanted)
    rid = proposal_owing(db, wanted[0], 5)
    listed = await CliRun.start("procurement", "list", "--open", "--db", str(db), "--json")
    assert await listed.finish() == 0, listed.errors
    assert [(r["request_id"], r["owed"]) for r in listed.json_lines()] == [(rid, 5)]
    target = ["--broker", broker.url, "--site", SITE, "--gateway", GATEWAY, "--db", str(db)]
    gateway, task = await start_gateway(config(db, broker.url, wanted))
    try:
        confirm = ("procurement", "confirm", rid, "--by", "Dr. Ruiz", "--quantity", "3")
        confirmed = await CliRun.start(*confirm, *target)
        assert await confirmed.finish(timeout=20) == 0, confirmed.errors
    finally:
        await stop_gateway(gateway, task)
    said, left = confirmed.lines
    assert "confirmed" in said and rid in said, said
    assert left == "2 packs owed to short pick lists are not covered"
    plain = await CliRun.start("procurement", "list", "--db", str(db))
    assert await plain.finish() == 0, plain.errors
    header, row = plain.lines
    columns = dict(zip(header.split(), row.split(), strict=False))
    assert (columns["quantity"], columns["owed"], columns["status"]) == ("3", "3", "requested")
