"""The consumer group's register tells requests apart by gateway and id, against a real 3-node
cluster: the same id from another gateway (a ledger copied to it) is applied too, and a copy a
gateway sent again for want of an answer is shown as a repeat with the command that answers
that gateway, not applied again nor dropped unseen; an entry by id alone, made before entries
named the gateway, still holds such a copy back."""

from __future__ import annotations

import json

import pytest

from edge.demo.nats_cluster import NatsCluster
from sync.jetstream.consumer_group import REGISTER
from sync.jetstream.link import connect
from tests.centre.conftest import publish_requests, summary_counts
from tests.edge.procurement_rig import CliRun, request_message


@pytest.mark.timeout(120)
async def test_the_same_id_at_another_gateway_is_applied_and_a_copy_sent_again_is_shown(
    cluster: NatsCluster,
) -> None:
    body = request_message(site="s5", gateway="g1", n=1)
    copied = {**body, "gateway": "g3"}
    older = request_message(site="s5", gateway="g1", n=2)  # applied by an earlier version
    nc = await connect(cluster.urls, "test-earlier-clerk")
    try:
        register = await nc.jetstream().key_value(REGISTER)
        await register.put(str(older["request_id"]), json.dumps({"state": "done"}).encode())
    finally:
        await nc.close()
    marker = request_message(site="s5", gateway="g1", n=3)
    run = await CliRun.start(
        *("procurement", "watch", "--nats", ",".join(cluster.urls), "--durable", "keys"),
        *("--json", "--count", "3", "--seconds", "60"),
    )
    await run.watching()
    resent = [{**body, "sent_again": 1}, {**older, "sent_again": 1}]
    await publish_requests(cluster, [body, copied, *resent, marker])
    assert await run.finish(timeout=90) == 0, run.errors
    applied = [line for line in run.json_lines() if "repeat" not in line]
    assert applied == [body, copied, marker]
    shown = [line for line in run.json_lines() if "repeat" in line]
    assert [(s["request_id"], s["gateway"], s["taken_before"]) for s in shown] == [
        (body["request_id"], "g1", True),
        (older["request_id"], "g1", True),
    ]
    assert shown[0]["repeat"].endswith(
        f"rxedge procurement status {body['request_id']} STATE --site s5 --gateway g1"
    )
    counts = summary_counts(run)
    assert (counts["applied"], counts["duplicates"]) == (3, 2)
