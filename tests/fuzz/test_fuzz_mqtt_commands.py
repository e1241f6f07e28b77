"""The whole command path at the MQTT level: payloads from hypothesis (deep nesting, long
numbers, any bytes, any JSON, valid commands with a field changed) published on every command
topic to a real mosquitto, each of which the running daemon must answer on cmd-result, with
no traceback logged. A payload the intake cannot judge goes unanswered and fails here.

`make fuzz` runs it long (FUZZ_MQTT_EXAMPLES, default 2000); the normal suite runs it briefly.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker
from edge.settings.config import parse_config
from sync.commands import COMMANDS, with_envelope
from tests.conftest import Subscriber

PREFIX = "rxedge/v1/s1/g1"
AMOX = "04012345123456"
TOPICS = [*(f"cmd/{name}" for name in COMMANDS), "procurement/status", "cmd/launch"]
LONG = settings.get_current_profile_name() == "fuzz"
EXAMPLES = int(os.environ.get("FUZZ_MQTT_EXAMPLES", "2000")) if LONG else 30

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)


@st.composite
def nested(draw: st.DrawFn) -> bytes:
    """Arrays and objects inside each other, closed or not, around any value."""
    depth = draw(st.integers(1, 40_000) | st.integers(25, 40))
    opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}"), (b'[{"b":', b"}]")]))
    inner = json.dumps(draw(JSON), allow_nan=True).encode()
    closed = draw(st.booleans())
    return (opener * depth + inner + (closer * depth if closed else b""))[: 64 * 1024 + 10]


@st.composite
def long_number(draw: st.DrawFn) -> bytes:
    digits = draw(st.integers(90, 6000))
    return b'{"quantity": ' + b"9" * digits + b', "gtin": "' + AMOX.encode() + b'"}'


@st.composite
def changed_locate(draw: st.DrawFn) -> bytes:
    """A valid locate with one field changed to anything (a valid one is answered too)."""
    body = with_envelope({"gtin": AMOX, "seconds": 1, "command_id": "fuzz"})
    body[draw(st.sampled_from([*body, "x"]))] = draw(JSON)
    return json.dumps(body, allow_nan=True).encode()


PAYLOADS = (
    nested()
    | long_number()
    | st.binary(max_size=2000)
    | JSON.map(lambda v: json.dumps(v, allow_nan=True).encode())
    | changed_locate()
)


@dataclass
class Running:
    """The daemon on its own loop in a thread, its broker, and what it logged with a trace."""

    centre: Subscriber
    tracebacks: list[str] = field(default_factory=list)
    answers: int = 0

    def answered(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                message = self.centre.messages.get(timeout=0.05)
            except queue.Empty:
                continue
            if message.topic.endswith("/cmd-result"):
                self.answers += 1
                return True
        return False


class _Traces(logging.Handler):
    def __init__(self, into: list[str]):
        super().__init__(logging.ERROR)
        self._into = into

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.name == "asyncio":
            self._into.append(self.format(record))


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    work = Path(tmp_path_factory.mktemp("mqtt-fuzz"))
    loop = asyncio.new_event_loop()
    broker = LocalBroker(work / "broker")
    loop.run_until_complete(broker.start())
    config = parse_config(
        {
            "site": "s1",
            "gateway": "g1",
            "database": str(work / "ledger.sqlite"),
            "create_database": True,
            "broker": {"url": broker.url},
            "metrics": {"listen": ""},
            "commands": {"rate_per_second": 10_000, "burst": 100_000},
            "products": [{"gtin": AMOX, "name": "Amoxicillin", "reorder_point": 1, "par": 4}],
        }
    )
    gateway = Gateway(config, observer=lambda _activity: None)
    thread = threading.Thread(target=loop.run_until_complete, args=(gateway.run(),), daemon=True)
    thread.start()
    centre = Subscriber(broker.port, [f"{PREFIX}/cmd-result"], "fuzz-centre")
    found = Running(centre)
    traces = _Traces(found.tracebacks)
    logging.getLogger().addHandler(traces)
    deadline = time.monotonic() + 20
    while not gateway.ready.is_set() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gateway.ready.is_set(), "the daemon did not start"
    yield found
    logging.getLogger().removeHandler(traces)
    centre.close()
    loop.call_soon_threadsafe(gateway.stop)
    thread.join(15)
    loop.run_until_complete(broker.stop())
    loop.close()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(topic=st.sampled_from(TOPICS), payload=PAYLOADS)
def test_every_payload_on_every_command_topic_is_answered(
    running: Running, topic: str, payload: bytes
) -> None:
    running.centre.publish(f"{PREFIX}/{topic}", payload)
    assert running.answered(10), f"no answer on cmd-result to {payload[:80]!r}... on {topic}"
    assert not running.tracebacks, running.tracebacks[0]
    assert not running.centre.violations, running.centre.violations[0]
