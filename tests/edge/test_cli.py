"""The command line as people use it: the demo, and the procurement clerk's watch."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.demo.local_broker import LocalBroker

ROOT = Path(__file__).resolve().parents[2]
RXEDGE = [sys.executable, "-m", "edge.cli.main"]


def test_demo_picks_reorders_counts_the_shelf_and_puts_the_delivery_away(
    tmp_path: Path,
) -> None:
    db = tmp_path / "kept.sqlite"
    result = subprocess.run(
        [*RXEDGE, "demo", "--seconds", "60", "--db", str(db)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=100,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "\x1b[" not in out, "not a terminal: plain lines, no ANSI"
    assert "scenario complete" in out and "NOT OBSERVED" not in out
    # The centre's view: both lists accepted and done, the mistake reported, the request received.
    for pick_id in ("rx-1001", "rx-1002"):
        assert f"cmd-result: {pick_id}: accepted" in out
        assert f"cmd-result: {pick_id}: done" in out
    assert "cmd-result: rx-1001 MISTAKE at A-11: expired" in out
    assert "centre    procurement received:" in out
    # What the shelf showed, read from the controller's registers.
    lit = out.split("both pick lists lit")[1].split("---")[0]
    assert "A-09 G2" in lit and "A-12 B1" in lit and "A-11 R~ " in lit  # expired: held back
    caught = out.split("the mistake is caught")[1].split("---")[0]
    assert "A-11 R!!" in caught
    assert "led       slot A-01: amber steady" in out
    # The delivery for the request, put away by the lights: the expired pack refused.
    assert "cmd-result: DESADV-demo-2: REFUSED GTIN 04012345123456 batch AX1907: expired" in out
    assert "cmd-result: DESADV-demo-2: closed (done): 6 put, 1 refused, 0 left waiting" in out
    for line in ("picks booked:         7", "mistakes caught:      1"):
        assert line in out
    # The centre's clerk answered: both requests accepted and ordered, amoxicillin shipped
    # before its delivery came, and the gateway took each answer.
    summary = out.split("\nsummary\n")[1]
    assert "clerk's answers:      5 (accepted 2, ordered 2, shipped 1) by purchasing" in summary
    assert "Omeprazole 20 mg capsules x28: ordered" in summary
    assert "Amoxicillin 500 mg capsules x21: received (6 of 6 packs)" in summary
    assert "shipped (DESADV-demo-2 on its way), said by purchasing" in out
    assert re.search(r"centre    cmd-result: applied: request \S+ is now shipped", out)
    assert out.index("is shipped at the gateway") < out.index("announces delivery DESADV-demo-2")
    # The stocktake, by the command line: started, swept, ended, the report read, confirmed.
    started = re.search(r"rxedge    stocktake (st-A-\S+) of shelf A started \(by Ana\)", out)
    assert started, out
    sid = started[1]
    assert "$ rxedge stocktake end --broker" in out
    assert f"stocktake {sid} of shelf A ended: 18 of 19 tagged packs seen; 1 missing, 0 " in out
    assert re.search(r"rxedge    A-06 +3 +2 ! missing 04012345555073/2", out), "the report"
    assert f"rxedge    stocktake {sid} confirmed by Ana: 1 adjustment(s) booked" in out
    assert f"stocktake:            {sid} of shelf A, confirmed by Ana" in summary
    assert "18 of 19 packs seen: 1 missing, 0 extra, 0 misplaced" in summary
    raised = re.search(r"requests raised:\s+(\d+)", out)
    received = re.search(r"requests received:\s+(\d+)", out)
    assert raised and received and int(received[1]) == int(raised[1]) >= 1
    # The ledger kept with --db: every pick references its list; the expired batch never left.
    with sqlite3.connect(db) as ledger:
        picks = ledger.execute(
            "SELECT reference, count(*) FROM movements WHERE kind = 'pick' GROUP BY reference"
        ).fetchall()
        expired = ledger.execute(
            "SELECT kind FROM movements WHERE batch = 'OM3902' ORDER BY id"
        ).fetchall()
    assert dict(picks) == {"rx-1001": 5, "rx-1002": 2}
    with sqlite3.connect(db) as ledger:
        put = ledger.execute(
            "SELECT batch, to_slot, count(*) FROM movements WHERE kind = 'receive'"
            " AND batch LIKE 'AX%' GROUP BY 1, 2"
        ).fetchall()
        request = ledger.execute(
            "SELECT status, received FROM procurement_requests WHERE gtin = '04012345123456'"
        ).fetchall()
        answered = ledger.execute(
            "SELECT gtin, status, answered_by FROM procurement_requests"
        ).fetchall()
        counted = ledger.execute(
            "SELECT kind, epc, from_slot, actor FROM movements WHERE reference = ?", (sid,)
        ).fetchall()
        stocktake = ledger.execute(
            "SELECT state, confirmed_by FROM stocktakes WHERE stocktake_id = ?", (sid,)
        ).fetchall()
    assert put == [("AX2291", "A-01", 6)], "the expired pack (AX1907) is never booked"
    assert request == [("received", 6)]
    assert sorted(answered) == [
        ("04012345123456", "received", "purchasing"),
        ("04012345555011", "ordered", "purchasing"),
    ]
    # The pack the sweep missed is booked out of A-06 in Ana's name, under the stocktake's id.
    assert counted == [("count_adjustment", "urn:epc:id:sgtin:4012345.055507.2", "A-06", "Ana")]
    assert stocktake == [("confirmed", "Ana")]
    # Received, then held back by the expiry sweep at start; never picked.
    assert expired == [("receive",), ("quarantine",)], "the mistaken pack must not be booked"


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
            "created_at": "2026-11-26T09:00:00.000Z",
            "site": "s1",
            "gateway": "g1",
            "gtin": "04012345123456",
            "name": "Amoxicillin",
            "batch_hint": None,
            "quantity": 4,
            "unit": "pack",
            "priority": "routine",
            "reason": {"on_hand": 2, "on_order": 0, "reorder_point": 2, "par": 6},
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
