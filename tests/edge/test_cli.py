"""The command line as people use it: the demo, and the procurement clerk's watch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.local_broker import LocalBroker

ROOT = Path(__file__).resolve().parents[2]
RXEDGE = [sys.executable, "-m", "edge.cli"]


def test_demo_runs_the_whole_scenario_and_exits_zero(tmp_path: Path) -> None:
    db = tmp_path / "kept.sqlite"
    result = subprocess.run(
        [*RXEDGE, "demo", "--seconds", "45", "--db", str(db)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "scenario complete" in out
    assert "led       slot A-01: amber steady" in out
    assert "centre    procurement received:" in out
    assert "requests received:    1" in out
    assert db.exists(), "--db keeps the ledger"


async def test_watch_prints_each_request_once_and_skips_malformed(broker: LocalBroker) -> None:
    watch = subprocess.Popen(
        [
            *RXEDGE,
            "procurement",
            "watch",
            "--broker",
            broker.url,
            "--json",
            "--count",
            "2",
            "--seconds",
            "30",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert watch.stderr is not None
        assert "watching" in watch.stderr.readline()  # subscribed: safe to publish now
        request = {
            "request_id": "0b7e5f4e-8a0f-4a43-9d43-2f3c1b1b0a01",
            "created_at": "2026-11-26T09:00Z",
            "gtin": "04012345123456",
            "name": "Amoxicillin",
            "quantity": 4,
            "unit": "pack",
            "priority": "routine",
            "reason": {"on_hand": 2},
            "confirmed_by": "auto",
        }
        second = {**request, "request_id": "0b7e5f4e-8a0f-4a43-9d43-2f3c1b1b0a02"}
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="centre-test")
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        topic = "rxedge/v1/s1/g1/procurement/request"
        for payload in (json.dumps(request), json.dumps(request), "not json", json.dumps(second)):
            client.publish(topic, payload, qos=1).wait_for_publish(5)
        client.disconnect()
        client.loop_stop()
        out, _ = watch.communicate(timeout=30)
    finally:
        watch.kill()
    assert watch.returncode == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["request_id"] for line in lines] == [request["request_id"], second["request_id"]]
