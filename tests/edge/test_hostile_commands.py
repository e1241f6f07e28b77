"""Commands from a network the pharmacy does not control: each message carried out at most
once (also across a restart), expired or far-future ones refused, floods dropped and counted,
and every refusal (payloads beyond the parser's limits too) answered without changing anything."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge.demo.local_broker import LocalBroker
from sync.commands import COMMANDS, with_envelope
from tests.clocks import SteppedClock
from tests.conftest import Subscriber, eventually, subscribed
from tests.edge.pick_rig import AMOX, IBU, PREFIX, start_rig, statuses, stop_rig


def errors(centre: Subscriber) -> list[str]:
    return [str(r["error"]) for r in centre.payloads("/cmd-result") if r["status"] == "error"]


@pytest.mark.parametrize(("step", "wrong"), [(-2 * 86400, "behind"), (600, "ahead")])
async def test_a_command_refused_by_a_wrong_gateway_clock_says_what_that_clock_reads(
    tmp_path: Path,
    broker: LocalBroker,
    subscribe: Callable[..., Subscriber],
    step: float,
    wrong: str,
) -> None:
    """The centre sends a command that expires in five minutes, by the right time. A gateway
    whose clock is two days slow finds it too far ahead, one ten minutes fast finds it expired:
    either refusal gives the gateway's own time and says its clock may be the wrong one, so the
    sender is not left to look for a fault of its own."""
    clock = SteppedClock()
    rig = await start_rig(tmp_path, broker, clock=clock)
    try:
        clock.step(step)
        centre = subscribe(f"{PREFIX}/cmd-result")
        locate = with_envelope({"gtin": AMOX, "seconds": 1, "command_id": "where-1"})
        sent = clock.now()
        centre.publish(f"{PREFIX}/cmd/locate", json.dumps(locate))
        [error] = await eventually(lambda: errors(centre), what="refused")
        read = {f"{t.astimezone(UTC):%Y-%m-%dT%H:%M}" for t in (sent, clock.now())}
        assert any(f"this gateway's clock reads {t}" in error for t in read), error
        assert "(UTC)" in error
        assert f"the gateway's clock may be wrong ({wrong})" in error
    finally:
        await stop_rig(rig)


async def test_replayed_expired_and_far_future_commands_are_refused(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    rig = await start_rig(tmp_path, broker)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        locate = with_envelope({"gtin": AMOX, "seconds": 1, "command_id": "where-1"})
        centre.publish(f"{PREFIX}/cmd/locate", json.dumps(locate))
        await eventually(lambda: statuses(centre, "where-1") == ["located"])
        centre.publish(f"{PREFIX}/cmd/locate", json.dumps(locate))  # the same message again
        now = datetime.now(UTC)
        stale = with_envelope({"gtin": AMOX, "command_id": "where-2"}, -5, now)
        centre.publish(f"{PREFIX}/cmd/locate", json.dumps(stale))
        distant = with_envelope({"gtin": AMOX, "command_id": "where-3"}, 30 * 86400, now)
        centre.publish(f"{PREFIX}/cmd/locate", json.dumps(distant))
        bare = {"gtin": AMOX, "command_id": "where-4"}  # no envelope at all
        centre.publish(f"{PREFIX}/cmd/locate", json.dumps(bare))
        found = await eventually(lambda: errors(centre) if len(errors(centre)) >= 4 else None)
        text = " | ".join(found)
        assert "replay" in text and "expired" in text and "ahead" in text
        assert "message_id" in text and "expires_at" in text
        assert statuses(centre, "where-1") == ["located", "error"]
        # The copy's refusal names the message as a copy's (replay_of), not as its answer:
        # the sender has the answer to its own message already.
        answers = {
            str(r["status"]): r
            for r in centre.payloads("/cmd-result")
            if r["command_id"] == "where-1"
        }
        assert answers["located"]["reply_to"] == locate["message_id"]
        assert "reply_to" not in answers["error"]
        assert answers["error"]["replay_of"] == locate["message_id"]
        [stale_refusal] = [
            r for r in centre.payloads("/cmd-result") if r["command_id"] == "where-2"
        ]
        assert stale_refusal["reply_to"] == stale["message_id"], "an expired message is told"
        assert statuses(centre, "where-2") == ["error"] and statuses(centre, "where-3") == ["error"]
    finally:
        await stop_rig(rig)
    # After a restart the ledger still knows the message: a replay stays a replay.
    rig = await start_rig(tmp_path, broker)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result", client_id="test-subscriber-2")
        centre.publish(f"{PREFIX}/cmd/locate", json.dumps(locate))
        await eventually(lambda: any("replay" in e for e in errors(centre)), what="replay refused")
        assert "located" not in statuses(centre, "where-1")
    finally:
        await stop_rig(rig)


async def test_a_copy_handed_over_again_after_its_expiry_is_a_replay_not_an_expired_command(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    """Carried out and written, its PUBACK lost to the stop (a power cut between the two), the
    command comes again from the broker when the daemon is back, by then past its expiry: it
    is answered as the copy it is (replay_of), not refused as expired as if never carried out.
    The daemon comes back a minute later by its clock, so that the copy's expiry has passed
    without the test waiting for it, however long the first delivery took."""
    clock = SteppedClock()
    rig = await start_rig(tmp_path, broker, clock=clock)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        assert rig.gateway is not None and rig.gateway.session is not None
        await subscribed(rig.gateway)
        rig.gateway.session.ack = lambda _delivery: False  # the stop lands before the PUBACK
        recall = with_envelope({"gtin": IBU, "batch": "I9", "note": "n", "by": "QA"}, 30)
        mid = recall["message_id"]
        centre.publish(f"{PREFIX}/cmd/recall", json.dumps(recall))
        await eventually(lambda: statuses(centre, f"{IBU}/I9") == ["recalled"], what="done")
        await rig.stop_daemon()
        clock.step(60)
        assert clock.now() > datetime.fromisoformat(str(recall["expires_at"])), "not expired"
        await rig.start_daemon(clock)
        [copy] = await eventually(
            lambda: [r for r in centre.payloads("/cmd-result") if r["status"] == "error"],
            what="the copy answered",
        )
        assert copy["replay_of"] == mid and "reply_to" not in copy, copy
        assert "received before; a replay is not carried out" in str(copy["error"])
        with sqlite3.connect(rig.db) as db:
            assert db.execute("SELECT count(*) FROM recalls WHERE batch = 'I9'").fetchone()[0] == 1
    finally:
        await stop_rig(rig)


async def test_commands_over_the_rate_wait_their_turn_and_each_is_carried_out(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    """More commands than the rate lets in at once (the commands sent while the gateway was
    away, all handed over when it is back; or a flood): each waits its turn, unacknowledged
    meanwhile, and is carried out at the rate; none is dropped."""
    limits = {"rate_per_second": 5, "burst": 5, "max_expiry_seconds": 3600}
    rig = await start_rig(tmp_path, broker, commands=limits)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        await rig.stop_daemon()  # away: its broker session keeps what is sent meanwhile
        for n in range(40):
            body = with_envelope({"gtin": AMOX, "seconds": 1, "command_id": f"flood-{n}"})
            centre.publish(f"{PREFIX}/cmd/locate", json.dumps(body))
        await rig.start_daemon(commands=limits)

        def located() -> list[dict[str, object]]:
            return [r for r in centre.payloads("/cmd-result") if r["status"] == "located"]

        done = await eventually(
            lambda: located() if len(located()) == 40 else None, timeout=30, what="all 40"
        )
        assert sorted(str(r["command_id"]) for r in done) == sorted(f"flood-{n}" for n in range(40))
        assert errors(centre) == [], "none refused, none dropped"
        times = sorted(datetime.fromisoformat(str(r["at"])) for r in done)
        # 5 at once (the burst), then 5 a second: 35 more take 7 s.
        assert (times[-1] - times[0]).total_seconds() >= 5, "carried out at the rate"
    finally:
        await stop_rig(rig)


HOSTILE = [
    (b"[" * 30_000 + b"]" * 30_000, "payload nests 30000 levels deep; at most 32"),
    (b'{"pick_id": "rx-9", "x": ' + b"{" * 50 + b"}" * 50 + b"}", "nests 51 levels deep"),
    (b'{"quantity": ' + b"7" * 5000 + b"}", "a number of 5000 characters; at most 100"),
    (b'{"seconds": NaN}', "NaN is not a JSON value"),
]


@pytest.mark.parametrize("topic", [*(f"cmd/{name}" for name in COMMANDS), "procurement/status"])
async def test_payloads_beyond_the_parser_limits_are_answered_on_every_topic(
    topic: str,
    tmp_path: Path,
    broker: LocalBroker,
    subscribe: Callable[..., Subscriber],
    caplog: pytest.LogCaptureFixture,
) -> None:
    rig = await start_rig(tmp_path, broker)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        for payload, _ in HOSTILE:
            centre.publish(f"{PREFIX}/{topic}", payload)
        found = await eventually(
            lambda: errors(centre) if len(errors(centre)) >= len(HOSTILE) else None,
            what=f"an answer to each payload on {topic}",
        )
        for (_, reason), error in zip(HOSTILE, found, strict=True):
            assert reason in error
        # (The rig's stock was set up with a recall, whose answer may still be on its way.)
        answered = [a for a in centre.payloads("/cmd-result") if a["status"] == "error"]
        assert {a["command"] for a in answered} == {topic.removeprefix("cmd/").replace("/", "-")}
    finally:
        await stop_rig(rig)
    tracebacks = [r.getMessage() for r in caplog.records if r.exc_info or r.name == "asyncio"]
    assert not tracebacks
