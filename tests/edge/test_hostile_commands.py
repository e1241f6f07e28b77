"""Commands from a network the pharmacy does not control: each message carried out at most
once (also across a restart), expired or far-future ones refused, floods dropped and counted,
and every refusal answered without changing anything."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from edge.demo.local_broker import LocalBroker
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.pick_rig import AMOX, PREFIX, start_rig, statuses, stop_rig


def errors(centre: Subscriber) -> list[str]:
    return [str(r["error"]) for r in centre.payloads("/cmd-result") if r["status"] == "error"]


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


async def test_a_flood_is_dropped_counted_and_answered_sparingly(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    limits = {"rate_per_second": 5, "burst": 5, "max_expiry_seconds": 3600}
    rig = await start_rig(tmp_path, broker, commands=limits)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        for n in range(60):
            body = with_envelope({"gtin": AMOX, "seconds": 1, "command_id": f"flood-{n}"})
            centre.publish(f"{PREFIX}/cmd/locate", json.dumps(body))
        assert rig.gateway is not None
        await eventually(lambda: rig.gateway.counters["commands"] >= 60, what="all received")
        dropped = rig.gateway.counters["commands_dropped"]
        assert dropped >= 40

        def located() -> int:
            return len([r for r in centre.payloads("/cmd-result") if r["status"] == "located"])

        await eventually(lambda: located() == 60 - dropped, what="the let-in ones carried out")
        await eventually(lambda: errors(centre), what="one refusal of the flood")
        assert 1 <= len([e for e in errors(centre) if "too many" in e]) <= 3
    finally:
        await stop_rig(rig)
