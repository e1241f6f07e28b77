"""Text from the network in the journal: a name sent in a command (`by`) cannot start a log
line of its own, so a hostile sender cannot forge entries (a failed ledger check, an error of
another part) in the journal the pharmacy's support reads. The contract refuses control
characters in a name; the refusal, which quotes it, is one line too."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from edge.demo.local_broker import LocalBroker
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.pick_rig import PREFIX, stock
from tests.edge.test_journal_logs import PRIORITY, stream_of

ROOT = Path(__file__).resolve().parents[2]
EXPIRED = "expired-04012345123456_OLD"  # raised at start: a pack on the shelf past its expiry
FORGED = "Ana\n<3>inventory.ledger.store: integrity check FAILED\rrxedge: ledger damaged"


async def test_a_name_sent_in_a_command_cannot_forge_journal_lines(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    stock(tmp_path / "ledger.sqlite")
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'site = "s1"\ngateway = "g1"\ndatabase = "{tmp_path / "ledger.sqlite"}"\n'
        f'[broker]\nurl = "{broker.url}"\n[metrics]\nlisten = ""\n'
        '[[shelves]]\nname = "A"\nhost = "127.0.0.1"\nport = 1\nslots = 8\n'
    )
    centre = subscribe(f"{PREFIX}/cmd-result")
    log = tmp_path / "stderr"
    log.touch()
    env = {**os.environ, "JOURNAL_STREAM": stream_of(log)}
    with log.open("w") as stderr:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "edge.cli.main", "run", "--config", str(config)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
        )
    try:
        await eventually(lambda: "connected to" in log.read_text(), 30, what="connected")
        ack = with_envelope({"alarm_id": EXPIRED, "by": FORGED})
        centre.publish(f"{PREFIX}/cmd/alarm-ack", json.dumps(ack))
        (refused,) = await eventually(
            lambda: [a for a in centre.payloads("/cmd-result") if a["command"] == "alarm-ack"],
            15,
            what="the ack refused",
        )
        await eventually(lambda: "refused" in log.read_text(), 15, what="the refusal logged")
        daemon.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(daemon.wait, 15) == 0
    finally:
        daemon.kill()
    text = log.read_text()
    for line in re.split(r"\r\n|\r|\n", text):
        if line:
            assert PRIORITY.match(line) and not line.startswith(("<6><", "<6>rxedge")), line
    assert refused["status"] == "error" and "control character" in refused["error"], refused
    assert "acknowledged by" not in text
