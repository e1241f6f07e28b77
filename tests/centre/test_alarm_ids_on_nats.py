"""A ledger from before alarm ids lost their dots, with an alarm's message still waiting, on a
NATS centre: NATS's MQTT gateway closes the connection of a client publishing to a topic with a
dot, so that message must never go out; the alarm reaches the centre under its new id and
everything else waiting goes out on one connection."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from edge.demo.nats_cluster import NatsCluster
from tests.conftest import eventually, retained_at
from tests.edge.procurement_rig import PREFIX, config, products, start_gateway, stop_gateway
from tests.inventory.test_store import file_at_version

OLD_ID, NEW_ID = "discrepancy-A1.2", "discrepancy-A1_2"


def waiting(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as ledger:
        rows = ledger.execute("SELECT kind, key FROM outbox WHERE sent_at IS NULL").fetchall()
    return [(str(r[0]), str(r[1])) for r in rows]


@pytest.mark.timeout(120)
async def test_an_alarm_message_waiting_under_its_dotted_id_does_not_stall_the_link(
    own_cluster: NatsCluster, tmp_path: Path
) -> None:
    db = file_at_version(
        tmp_path / "ledger.sqlite",
        7,
        "INSERT INTO alarms (id, kind, subject, state, raised_at, detail) VALUES"
        f" ('{OLD_ID}', 'discrepancy', 'A1.2', 'raised', '2026-12-05T08:00:00Z', '{{}}')",
        "INSERT INTO outbox (created_at, kind, key, payload) VALUES ('2026-12-05T08:00:00Z',"
        f" 'alarm', '{OLD_ID}', '{json.dumps({'alarm_id': OLD_ID, 'state': 'raised'})}')",
        "INSERT INTO outbox (created_at, kind, key, payload) VALUES ('2026-12-05T08:00:01Z',"
        " 'command_result', 'c1', '{\"ok\": true}')",
    )
    settings = config(db, own_cluster.mqtt_urls[0], products(auto=1))
    settings["broker"] = {"url": own_cluster.mqtt_urls[0], "protocol": "3.1.1"}
    settings["metrics"] = {"listen": ""}
    gateway, task = await start_gateway(settings)
    try:
        session = gateway.session
        assert session is not None
        await eventually(lambda: not waiting(db), timeout=30, what="the outbox sent")
        port = int(own_cluster.mqtt_urls[0].rsplit(":", 1)[1])
        topic = f"{PREFIX}/alarms/{NEW_ID}"

        async def alarm_held() -> bytes | None:
            held = await asyncio.to_thread(
                retained_at, port, f"{PREFIX}/alarms/+", protocol=mqtt.MQTTv311
            )
            return held.get(topic)

        state = json.loads(await eventually(alarm_held, timeout=30, what="the alarm's state"))
        assert (state["alarm_id"], state["subject"], state["state"]) == (NEW_ID, "A1.2", "raised")
        assert session.connects == 1, "one connection, never closed by the centre"
    finally:
        await stop_gateway(gateway, task)
