"""`rxedge procurement watch --nats` as a clerk runs it, against a real 3-node cluster: a
malformed request is dropped (acknowledged, counted, never applied), `--count N` takes N and
gives the rest back to the group at once, Ctrl-C or SIGTERM end it with their own status, and
a request taken as routine that a gateway's alarm names as urgent is told once, across a
restart, and so is each step of what became of a request the centre refused."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.demo.nats_cluster import NatsCluster
from sync.topics import ROOT
from tests.centre.conftest import publish_requests, summary_counts, unacknowledged
from tests.conftest import eventually
from tests.edge.procurement_rig import CliRun, request_message


async def clerk(cluster: NatsCluster, durable: str, *more: str) -> CliRun:
    """A watch in group `durable`, subscribed."""
    run = await CliRun.start(
        *("procurement", "watch", "--nats", ",".join(cluster.urls), "--durable", durable),
        *more,
    )
    await run.watching()
    return run


@pytest.mark.timeout(120)
async def test_a_malformed_request_is_acknowledged_counted_and_dropped_by_the_group(
    cluster: NatsCluster,
) -> None:
    wrong = [
        {**request_message(site="s1", gateway="g1", n=1), "priority": None},
        {**request_message(site="s1", gateway="g1", n=2), "reason": None},
    ]
    good = request_message(site="s1", gateway="g1", n=3)
    run = await clerk(cluster, "strict", "--count", "1", "--seconds", "60")  # printed as lines
    await publish_requests(cluster, [*wrong, good])
    assert await run.finish(timeout=60) == 0, run.errors
    (line,) = run.lines
    assert f"[{good['request_id']}]  answer: rxedge procurement status" in line
    assert line.endswith("STATE --site s1 --gateway g1"), "the request's own gateway"
    dropped = [e for e in run.errors if "dropped a malformed request" in e]
    assert len(dropped) == 2, run.errors
    assert "priority: null is not one of" in dropped[0]
    assert "reason: must be an object, not null" in dropped[1]
    counts = summary_counts(run)
    assert (counts["malformed"], counts["applied"]) == (2, 1)
    assert await unacknowledged(cluster, "strict") == 0, "dropped, not left to come again"


@pytest.mark.timeout(120)
async def test_count_takes_n_and_gives_the_rest_back_to_the_group_at_once(
    cluster: NatsCluster,
) -> None:
    bodies = [request_message(site="s2", gateway="g1", n=n) for n in range(1, 6)]
    ids = [str(b["request_id"]) for b in bodies]
    opening = await clerk(cluster, "counted", "--seconds", "0.5")  # the group, made first
    assert await opening.finish() == 0, opening.errors
    await publish_requests(cluster, bodies)
    # With the default ack wait (30 s), what the first fetched and did not take would wait
    # that long unless it is given back.
    one = await clerk(cluster, "counted", "--json", "--count", "1", "--seconds", "60")
    assert await one.finish(timeout=60) == 0, one.errors
    assert [line["request_id"] for line in one.json_lines()] == ids[:1]
    assert summary_counts(one)["applied"] == 1
    rest = await clerk(cluster, "counted", "--json", "--count", "4", "--seconds", "15")
    assert await rest.finish(timeout=30) == 0, rest.errors
    assert sorted(line["request_id"] for line in rest.json_lines()) == sorted(ids[1:])


@pytest.mark.timeout(120)
async def test_ctrl_c_and_sigterm_end_the_watch_with_their_statuses_and_its_counts(
    cluster: NatsCluster,
) -> None:
    first = await clerk(cluster, "desk", "--json")
    second = await clerk(cluster, "desk", "--json")
    body = request_message(site="s3", gateway="g1", n=1)
    await publish_requests(cluster, [body])
    await eventually(
        lambda: first.json_lines() or second.json_lines(), timeout=20, what="the request applied"
    )
    assert await first.interrupt() == 130, first.errors
    second.process.send_signal(signal.SIGTERM)
    assert await second.finish() == 143, second.errors
    applied = [summary_counts(run)["applied"] for run in (first, second)]
    assert sorted(applied) == [0, 1], "each said its counts as it ended"


def publish_alarms(cluster: NatsCluster, alarms: dict[str, bytes]) -> None:
    """Alarm states (topic -> payload) published as a gateway publishes them, retained at
    QoS 1, through the cluster's MQTT gateway (an empty payload clears one)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.connect("127.0.0.1", int(cluster.mqtt_urls[0].rsplit(":", 1)[1]))
    client.loop_start()
    try:
        for topic, payload in alarms.items():
            client.publish(topic, payload, qos=1, retain=True).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


def stock_out(body: dict[str, Any]) -> tuple[str, bytes]:
    """The stock-out alarm of `body`'s product, naming `body` as urgent now."""
    detail = {"gtin": body["gtin"], "name": body["name"], "urgent_requests": [body["request_id"]]}
    alarm = {"kind": "stock_out", "state": "raised", "detail": detail}
    site, gateway, gtin = body["site"], body["gateway"], body["gtin"]
    return f"{ROOT}/{site}/{gateway}/alarms/stock_out-{gtin}", json.dumps(alarm).encode()


def told(run: CliRun) -> list[str]:
    return [e for e in run.errors if "is now URGENT" in e]


@pytest.mark.timeout(120)
async def test_a_request_taken_as_routine_that_an_alarm_names_as_urgent_is_told_once(
    cluster: NatsCluster, tmp_path: Path
) -> None:
    """The NATS watch follows the gateways' alarms in the centre's stream: the first request's
    news comes on stderr while the watch runs; the second's alarm comes while it is away, and
    the watch run again tells that one, not the first's again (both alarms come again)."""
    first, second = (request_message(site="s6", gateway="g1", n=n) for n in (1, 2))
    seen = tmp_path / "seen.txt"
    args = ("--json", "--seen", str(seen))
    run = await clerk(cluster, "urgent", *args)
    alarms = dict([stock_out(first), stock_out(second)])
    try:
        await publish_requests(cluster, [first, second])
        await eventually(lambda: len(run.json_lines()) == 2, timeout=20, what="both taken")
        await asyncio.to_thread(publish_alarms, cluster, dict([stock_out(first)]))
        await eventually(lambda: told(run), timeout=20, what="the first request's news")
        assert await run.interrupt() == 130, run.errors
        await asyncio.to_thread(publish_alarms, cluster, dict([stock_out(second)]))
        again = await clerk(cluster, "urgent", *args)
        await eventually(lambda: told(again), timeout=20, what="the second request's news")
        assert await again.interrupt() == 130, again.errors
    finally:
        await asyncio.to_thread(publish_alarms, cluster, dict.fromkeys(alarms, b""))
    assert told(run) == [
        f"request {first['request_id']} at s6/g1 is now URGENT: Product 1 (GTIN "
        f"{first['gtin']}) is out of stock (alarm stock_out-{first['gtin']})"
    ]
    assert [line["request_id"] for line in run.json_lines()] == [
        first["request_id"],
        second["request_id"],
    ]
    assert len(run.lines) == 2, "stdout: one JSON object a request taken, nothing else"
    assert told(again) == [
        f"request {second['request_id']} at s6/g1 is now URGENT: Product 2 (GTIN "
        f"{second['gtin']}) is out of stock (alarm stock_out-{second['gtin']})"
    ], "the first's not told again"
    assert again.lines == []
    held = (tmp_path / "seen.txt.urgent").read_text().split()
    assert sorted(held) == sorted(f"s6/g1/{b['request_id']}" for b in (first, second))


def refusal(body: dict[str, Any], status: str, **became: str) -> tuple[str, bytes]:
    """The shortage alarm of `body`'s product telling that the centre refused `body` (`status`)
    and what became of it (`proposal_id`, `requested_again` or `proposal_withdrawn`)."""
    detail = {"gtin": body["gtin"], "name": body["name"], "on_hand": 2}
    detail |= {"refused_request": body["request_id"], "refused_status": status, **became}
    alarm = {"kind": "shortage", "state": "acknowledged", "detail": detail}
    site, gateway, gtin = body["site"], body["gateway"], body["gtin"]
    return f"{ROOT}/{site}/{gateway}/alarms/shortage-{gtin}", json.dumps(alarm).encode()


def refused(run: CliRun) -> list[str]:
    return [e for e in run.errors if " was cancelled: " in e]


@pytest.mark.timeout(120)
async def test_what_became_of_a_request_the_centre_refused_is_told_once_each(
    cluster: NatsCluster, tmp_path: Path
) -> None:
    """The centre cancels a request the watch took: its proposal waiting is told; withdrawn
    while the watch is away, the watch run again tells that, not the waiting again. A refusal
    of a request this watch never took is not its news."""
    mine, other = request_message(site="s7", gateway="g1", n=1), request_message("s7", "g2", 2)
    proposal = "9d3f6c1e-0b8a-4f4e-a1c2-6e5d7b8a9c01"
    seen = tmp_path / "seen.txt"
    run = await clerk(cluster, "refusals", "--json", "--seen", str(seen))
    topic, waits = refusal(mine, "cancelled", proposal_id=proposal)
    topics = [topic, refusal(other, "cancelled")[0]]
    try:
        await publish_requests(cluster, [mine])
        await eventually(lambda: run.json_lines(), timeout=20, what="the request taken")
        await asyncio.to_thread(publish_alarms, cluster, dict([(topic, waits)]))
        await eventually(lambda: refused(run), timeout=20, what="the proposal waiting told")
        assert await run.interrupt() == 130, run.errors
        withdrawn = [refusal(mine, "cancelled", proposal_withdrawn=proposal)]
        withdrawn.append(refusal(other, "cancelled"))  # a request this watch never took
        await asyncio.to_thread(publish_alarms, cluster, dict(withdrawn))
        again = await clerk(cluster, "refusals", "--json", "--seen", str(seen))
        await eventually(lambda: refused(again), timeout=20, what="the withdrawal told")
        assert await again.interrupt() == 130, again.errors
    finally:
        await asyncio.to_thread(publish_alarms, cluster, dict.fromkeys(topics, b""))
    product, rid = f"Product 1 (GTIN {mine['gtin']})", mine["request_id"]
    assert refused(run) == [
        f"request {rid} at s7/g1 was cancelled: proposal {proposal} for {product} waits for "
        f"a pharmacist to confirm it (alarm shortage-{mine['gtin']})"
    ]
    assert refused(again) == [
        f"request {rid} at s7/g1 was cancelled: proposal {proposal} for {product} was "
        f"withdrawn unconfirmed: stock rose, nothing more is needed (alarm shortage-"
        f"{mine['gtin']})"
    ], "the waiting not told again, the other gateway's request not this watch's"
    assert not [e for e in again.errors if other["request_id"] in e]
    assert [len(r.lines) for r in (run, again)] == [1, 0], "stdout: requests taken alone"
    held = (tmp_path / "seen.txt.urgent").read_text().splitlines()
    assert held == [f"s7/g1/{rid} waits", f"s7/g1/{rid} withdrawn"]
