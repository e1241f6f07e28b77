"""What goes wrong on the procurement clerk's path is told for what it is, over a real mosquitto
with the gateway in-process: an answer sent to a gateway nobody listens for, a request id
typed in capitals, a --by the contract refuses, a proposal of a product no longer configured."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from edge.cli.procurement.watch import WatchOptions, watch
from edge.demo.local_broker import LocalBroker
from inventory.changes import Book
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
    request_message,
    requests,
    start_gateway,
    stock,
    stop_gateway,
    take_one,
)


async def test_an_answer_to_a_gateway_nobody_subscribes_for_is_told_so_not_kept_for_it(
    broker: LocalBroker,
) -> None:
    """No client (nor a session kept for one away) subscribes to g7's answers: the broker's
    PUBACK says so (MQTT 5), and the clerk hears at once that nobody will get the answer. With
    MQTT 3.1.1 the broker cannot say so: not yet confirmed, as before."""
    rid = str(uuid.uuid4())
    target = ("--broker", broker.url, "--site", SITE, "--gateway", "g7")
    told = await CliRun.start("procurement", "status", rid, "shipped", *target, "--wait", "15")
    assert await told.finish() == 5, (told.lines, told.errors)
    (line,) = told.lines
    assert line.startswith(
        f"not delivered: nobody subscribes to rxedge/v1/{SITE}/g7/procurement/status"
    ), line
    assert "check --site and --gateway" in line, line
    said = await CliRun.start("procurement", "status", rid, "shipped", *target, "--json")
    assert await said.finish() == 5, said.errors
    (answer,) = said.json_lines()
    assert (answer["outcome"], answer["broker_acknowledged"]) == ("no_subscribers", True)
    older = ("--mqtt-protocol", "3.1.1", "--wait", "1")
    unsure = await CliRun.start("procurement", "status", rid, "shipped", *target, *older)
    assert await unsure.finish() == 4, unsure.errors
    assert unsure.lines[0].startswith("sent, not yet confirmed"), unsure.lines


async def test_a_request_id_in_capitals_is_the_same_request_and_answered_as_sent(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    centre = subscribe(f"{PREFIX}/cmd-result")
    db, _, gateway, task, rid = await one_request(broker.url, tmp_path)
    typed = rid.upper()
    try:
        target = ("--broker", broker.url, "--site", SITE, "--gateway", GATEWAY)
        shipped = await CliRun.start("procurement", "status", typed, "shipped", *target)
        assert await shipped.finish() == 0, (shipped.lines, shipped.errors)
    finally:
        await stop_gateway(gateway, task)
    assert shipped.lines == [f"applied: request {typed} is now shipped"]
    assert requests(db) == {rid: "shipped"}, "the request, kept under its own id"
    (said,) = centre.payloads("/cmd-result")
    assert (said["command_id"], said["request_id"], said["status"]) == (typed, typed, "applied")


async def test_a_by_the_contract_refuses_stops_the_watch_before_it_takes_anything(
    broker: LocalBroker, tmp_path: Path
) -> None:
    too_long = "P" * 81
    refused = await CliRun.start(
        *("procurement", "watch", "--broker", broker.url, "--accept", "--by", too_long),
        *("--csv", str(tmp_path / "requests.csv"), "--seconds", "5"),
    )
    assert await refused.finish() == 2, refused.errors
    assert any("--by" in e and "at most 80 characters" in e for e in refused.errors), refused.errors
    assert not (tmp_path / "requests.csv").exists()


async def test_a_request_the_watch_could_not_accept_is_neither_written_down_nor_seen(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    """An answer `accepted` the contract refuses (a --by that did not come through the command
    line's check) stops the watch with the request left to its session: the next run takes it."""
    centre = subscribe(f"{PREFIX}/procurement/status", client_id="pharmacy")
    table, seen = tmp_path / "requests.csv", tmp_path / "seen.txt"
    options = WatchOptions(
        broker.url, client_id="clerk-1", group="", csv=table, seen=seen, accept=True, seconds=2
    )
    assert await watch(options) == 0, "its session made, kept while it is away"
    body = request_message()
    rid = str(body["request_id"])
    centre.publish(f"{PREFIX}/procurement/request", json.dumps(body))
    assert await watch(replace(options, by="P" * 81, seconds=10)) == 1
    assert rid not in table.read_text() and rid not in seen.read_text()
    assert await watch(replace(options, count=1, seconds=10)) == 0, "it came again"
    assert table.read_text().count(rid) == 1 and rid in seen.read_text()
    (answer,) = await eventually(lambda: centre.payloads("/procurement/status"), what="accepted")
    assert (answer["request_id"], answer["status"]) == (rid, "accepted")


async def test_a_proposal_of_a_product_no_longer_configured_is_refused_not_made_up(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    centre = subscribe(f"{PREFIX}/procurement/request")
    wanted = products(auto=1, ask=1)
    kept, dropped = wanted[0], wanted[1]["gtin"]
    db = tmp_path / "ledger.sqlite"
    stock(db, wanted)
    gateway, task = await start_gateway(config(db, broker.url, wanted))
    change(gateway, Book((take_one(dropped),)))
    (proposal,) = await eventually(lambda: proposals(db), what="a proposal waiting")
    await stop_gateway(gateway, task)
    gateway, task = await start_gateway(config(db, broker.url, [kept]))  # the product removed
    try:
        target = ("--broker", broker.url, "--site", SITE, "--gateway", GATEWAY)
        confirm = ("procurement", "confirm", proposal, "--by", "Dr. Ruiz", *target)
        confirmed = await CliRun.start(*confirm)
        assert await confirmed.finish(timeout=20) == 1, (confirmed.lines, confirmed.errors)
    finally:
        await stop_gateway(gateway, task)
    said = "\n".join(confirmed.lines + confirmed.errors)
    assert f"GTIN {dropped}, which is no longer in the configuration's products" in said, said
    assert requests(db)[proposal] == "proposed", "nothing sent"
    assert centre.payloads("/procurement/request") == []
