"""The clerk's answer reaches the pharmacy that asked, over a real mosquitto with the gateway
in-process: the watch's line gives the whole command (site, gateway, broker); `rxedge
procurement status` takes the request's gateway from the watch's CSV or seen file and refuses a
--site/--gateway naming another one, or asks for them when nothing says it. A request a
gateway sends again is shown as a repeat, not dropped, and written down once; a request is
told apart by its gateway and its id."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edge.cli.config_file import CONFIG_ENV, SYSTEM_CONFIG
from edge.demo.local_broker import LocalBroker
from tests.conftest import Subscriber, eventually
from tests.edge.procurement_rig import CliRun, one_request, request_message, requests, stop_gateway

ANSWERS = "rxedge/v1/+/+/procurement/status"


@pytest.fixture(autouse=True)
def no_configuration_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)


def topic_of(body: dict[str, Any]) -> str:
    return f"rxedge/v1/{body['site']}/{body['gateway']}/procurement/request"


def rows_of(path: Path) -> list[tuple[str, str, str]]:
    with path.open(newline="", encoding="utf-8") as held:
        return [(r["site"], r["gateway"], r["request_id"]) for r in csv.DictReader(held)]


async def watch(broker: LocalBroker, tmp_path: Path, *more: str) -> CliRun:
    """The clerk's watch, writing to requests.csv and seen.txt, subscribed."""
    run = await CliRun.start(
        *("procurement", "watch", "--broker", broker.url, "--group", ""),
        *("--csv", str(tmp_path / "requests.csv"), "--seen", str(tmp_path / "seen.txt")),
        *more,
    )
    await run.watching()
    return run


async def status(rid: str, state: str, *more: str) -> CliRun:
    run = await CliRun.start("procurement", "status", rid, state, "--wait", "5", *more)
    await run.finish()
    return run


async def test_the_answer_goes_to_the_gateway_the_watch_wrote_down_not_the_configurations(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    """The centre's configuration is another pharmacy's file (s1/g0): the answer still goes to
    s1/g1, which asked; --site/--gateway naming s1/g0 are refused, and nothing reaches it."""
    answers = subscribe(ANSWERS)
    other = tmp_path / "other-pharmacy.toml"
    other.write_text(f'site = "s1"\ngateway = "g0"\n[broker]\nurl = "{broker.url}"\n')
    clerk = await watch(broker, tmp_path, "--count", "1", "--seconds", "30")
    db, _, gateway, task, rid = await one_request(broker.url, tmp_path)
    try:
        assert await clerk.finish() == 0, clerk.errors
        (line,) = clerk.lines
        command = f"rxedge procurement status {rid} STATE --site s1 --gateway g1"
        assert line.endswith(f"  answer: {command} --broker {broker.url}"), line
        files = ("--csv", str(tmp_path / "requests.csv"))
        ordered = await status(rid, "ordered", "--config", str(other), *files)
        assert ordered.process.returncode == 0, ordered.errors
        assert ordered.lines == [f"applied: request {rid} is now ordered"]
        assert requests(db)[rid] == "ordered"
        elsewhere = ("--broker", broker.url, "--site", "s1", "--gateway", "g0")
        wrong = await status(rid, "shipped", *elsewhere, *files)
        assert wrong.process.returncode == 2, wrong.errors
        (said,) = wrong.errors
        assert f"request {rid} came from s1/g1 ({tmp_path / 'requests.csv'})" in said
        assert "not --site s1 --gateway g0" in said
        seen = ("--seen", str(tmp_path / "seen.txt"))
        shipped = await status(rid, "shipped", "--broker", broker.url, *seen)
        assert shipped.process.returncode == 0, shipped.errors
        assert requests(db)[rid] == "shipped"
    finally:
        await stop_gateway(gateway, task)
    sent = [(m.topic, json.loads(m.payload)["status"]) for m in answers.drain()]
    assert sent == [
        ("rxedge/v1/s1/g1/procurement/status", "ordered"),
        ("rxedge/v1/s1/g1/procurement/status", "shipped"),
    ], "every answer at the gateway that asked, none at another"


@pytest.mark.skipif(SYSTEM_CONFIG.exists(), reason="this machine has a gateway configuration")
async def test_without_a_configuration_or_a_known_origin_the_clerk_is_asked_for_the_gateway(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    answers = subscribe(ANSWERS)
    rid = str(request_message()["request_id"])
    bare = await status(rid, "cancelled", "--broker", broker.url)
    assert bare.process.returncode == 2
    (said,) = bare.errors
    assert said.startswith(f"rxedge: request {rid}: give --site and --gateway (there is no "), said
    assert "the watch's line for the request shows its --site and --gateway" in said
    empty = tmp_path / "requests.csv"
    empty.write_text("received_at,site,gateway,request_id\n")
    unknown = await status(rid, "cancelled", "--site", "s1", "--csv", str(empty))
    assert unknown.process.returncode == 2
    assert "give --broker URL and --gateway" in unknown.errors[0]
    assert "(not in the files given)" in unknown.errors[0]
    assert answers.payloads("/procurement/status") == [], "nothing sent anywhere"


async def test_a_request_sent_again_is_shown_as_a_repeat_with_its_gateway_and_written_once(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    """The clerk's answer never reached s1/g2, so it sends the request again: the watch says
    so, with the command that answers s1/g2, also after a restart; a plain copy (delivery is at
    least once) is still dropped, and the CSV file holds the request once."""
    pharmacy = subscribe("nothing/at/all")
    body = request_message(gateway="g2", n=1)
    rid = body["request_id"]
    first = await watch(broker, tmp_path, "--client-id", "clerk-1")
    try:
        for each in (body, body, {**body, "sent_again": 1, "priority": "urgent"}):
            pharmacy.publish(topic_of(body), json.dumps(each))
        await eventually(lambda: len(first.lines) >= 2, what="the request and its repeat")
        assert await first.interrupt() == 130
    finally:
        await first.kill()
    taken, repeat = first.lines
    assert taken.startswith(body["created_at"]) and "sent again" not in taken
    answer = f"rxedge procurement status {rid} STATE --site s1 --gateway g2 --broker {broker.url}"
    assert repeat.startswith(
        "sent again (1): the gateway has no answer yet \u2014 taken here before; an answer sent "
        f"may have gone to another gateway or been lost; answer it with {answer}  "
    ), repeat
    assert "URGENT" in repeat
    again = await watch(broker, tmp_path, "--client-id", "clerk-1", "--json")
    try:
        marker = request_message(gateway="g2", n=2)
        for each in ({**body, "sent_again": 2}, marker):
            pharmacy.publish(topic_of(each), json.dumps(each))
        await eventually(lambda: len(again.lines) >= 2, what="the repeat and the next request")
        assert await again.interrupt() == 130
    finally:
        await again.kill()
    shown, after = again.json_lines()
    assert (shown["sent_again"], shown["taken_before"], after) == (2, True, marker)
    assert shown["repeat"].endswith(f"answer it with {answer}")
    assert rows_of(tmp_path / "requests.csv") == [
        ("s1", "g2", rid),
        ("s1", "g2", marker["request_id"]),
    ], "written down once each"


async def test_the_same_id_from_another_gateway_is_another_request_and_old_seen_files_still_count(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    pharmacies = subscribe("nothing/at/all")
    before = request_message(n=1)  # seen by a watch that kept ids alone
    (tmp_path / "seen.txt").write_text(f"{before['request_id']}\n")
    body = request_message(gateway="g1", n=2)
    copied = {**body, "gateway": "g3"}  # a ledger copied to g3: the same id
    run = await watch(broker, tmp_path, "--json", "--count", "3", "--seconds", "15")
    marker = request_message(gateway="g1", n=3)
    for each in (before, body, copied, marker):
        pharmacies.publish(topic_of(each), json.dumps(each))
    assert await run.finish() == 0, run.errors
    assert run.json_lines() == [body, copied, marker]
    rid = body["request_id"]
    assert rows_of(tmp_path / "requests.csv") == [
        ("s1", "g1", rid),
        ("s1", "g3", rid),
        ("s1", "g1", marker["request_id"]),
    ]
    assert (tmp_path / "seen.txt").read_text().split() == [
        before["request_id"],
        f"s1/g1/{rid}",
        f"s1/g3/{rid}",
        f"s1/g1/{marker['request_id']}",
    ]
    which = await status(
        rid, "ordered", "--broker", broker.url, "--csv", str(tmp_path / "requests.csv")
    )
    assert which.process.returncode == 2
    assert "came from s1/g1" in which.errors[0] and "and s1/g3" in which.errors[0]
    assert "give --site and --gateway to say which one" in which.errors[0]
