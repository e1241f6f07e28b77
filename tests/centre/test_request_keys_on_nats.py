"""The consumer group's register tells requests apart by gateway and id, against a real 3-node
cluster: the same id from another gateway (a ledger copied to it) is applied too, and a copy a
gateway sent again for want of an answer is shown as a repeat with the command that answers
that gateway (on stderr: stdout of --json is the requests taken), not applied again nor dropped
unseen; an entry by id alone, made before entries named the gateway, still holds back every
copy of its request, and a watch of that version in the group sees what this one applied."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from nats.js.errors import KeyWrongLastSequenceError

from edge.demo.nats_cluster import NatsCluster
from sync.jetstream.consumer_group import REGISTER
from sync.jetstream.link import connect
from sync.jetstream.subjects import MQTT_STORE
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
    assert run.json_lines() == [body, copied, marker], "stdout: the requests taken, once each"
    shown = [line for line in run.errors if line.startswith("sent again (1)")]
    assert len(shown) == 2, run.errors
    for line, rid in zip(shown, (body["request_id"], older["request_id"]), strict=True):
        answer = f"rxedge procurement status {rid} STATE --site s5 --gateway g1"
        assert "taken here before; an answer sent may have gone to another gateway" in line
        assert f"answer it with {answer}  " in line and line.endswith(f"[{rid}]")
    counts = summary_counts(run)
    assert (counts["applied"], counts["duplicates"]) == (3, 2)


@pytest.mark.timeout(120)
async def test_entries_an_earlier_version_kept_by_id_hold_back_every_copy_and_it_sees_ours(
    cluster: NatsCluster, tmp_path: Path
) -> None:
    """A centre upgraded with requests in the register by id alone: an ordinary copy of a
    request done then (the gateway published again after a lost PUBACK) is dropped, not
    applied, written down and printed again; one left taken by the very message that comes
    again is finished once. A member of the earlier version still in the group (its desk not
    yet upgraded) finds what the new one applied, or dropped as done, taken by its id, and
    leaves it."""
    done_before = request_message(site="s5", gateway="g1", n=1)
    keyed_before = request_message(site="s5", gateway="g1", n=5)  # by the version just before
    left_taken = request_message(site="s5", gateway="g1", n=2)
    new, marker = request_message(site="s5", gateway="g1", n=3), request_message(n=4)
    nc = await connect(cluster.urls, "test-earlier-clerk")
    try:
        js = nc.jetstream()
        register = await js.key_value(REGISTER)
        await register.put(str(done_before["request_id"]), earlier_entry("done"))
        await register.put(f"s5.g1.{keyed_before['request_id']}", earlier_entry("done"))
        run = await CliRun.start(
            *("procurement", "watch", "--nats", ",".join(cluster.urls), "--durable", "upgraded"),
            *("--json", "--csv", str(tmp_path / "requests.csv"), "--count", "3"),
            *("--seconds", "60"),
        )
        await run.watching()
        # The earlier member took left_taken's message and died before it finished.
        coming = (await js.stream_info(MQTT_STORE)).state.last_seq + 1
        await register.put(str(left_taken["request_id"]), earlier_entry("taken", coming))
        copies = [done_before, left_taken, keyed_before]
        await publish_requests(cluster, [left_taken, *copies, new, marker])
        assert await run.finish(timeout=90) == 0, run.errors
        assert run.json_lines() == [left_taken, new, marker]
        with (tmp_path / "requests.csv").open(newline="", encoding="utf-8") as held:
            rows = [row["request_id"] for row in csv.DictReader(held)]
        assert rows == [left_taken["request_id"], new["request_id"], marker["request_id"]]
        counts = summary_counts(run)
        assert (counts["applied"], counts["finished"], counts["duplicates"]) == (2, 1, 3)
        for body in (left_taken, new, keyed_before):  # an earlier member takes one by this
            with pytest.raises(KeyWrongLastSequenceError):
                await register.create(str(body["request_id"]), earlier_entry("taken", 1))
            entry = json.loads((await register.get(str(body["request_id"]))).value or b"")
            assert (entry["state"], entry["site"], entry["gateway"]) == ("done", "s5", "g1")
    finally:
        await nc.close()


def earlier_entry(state: str, message: int | None = None) -> bytes:
    """A register entry as a watch of the version that kept entries by id alone wrote it."""
    entry = {"state": state, "by": "desk-2", "at": "2026-11-26T09:00:00.000Z"}
    return json.dumps(entry if message is None else {**entry, "message": message}).encode()
