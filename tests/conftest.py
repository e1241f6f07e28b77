"""Shared fixtures: a real mosquitto per test, an independent paho subscriber that holds every
message the gateway sends to the MQTT contract, waiting for conditions with timeouts instead
of sleeping, and a check that no test leaves asyncio tasks behind."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import queue
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from hypothesis import settings
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.daemon.log_limits import RepeatLimit
from edge.demo.local_broker import LocalBroker
from edge.settings import clock_checks
from sync.contract import CENTRE, channel_of, check_topic
from sync.topics import ROOT
from tests.processes import pids_named

# Property tests judge what an example does, not how long it takes: on a loaded two-core
# machine one example may take several times its usual time (`make fuzz` loads its own profile).
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")

# The suite judges dates in the machine's own zone, whoever runs it: a $TZ from a developer's
# shell or a CI job would add its warnings and move its dates (so would INVOCATION_ID, set when
# the runner is systemd's service). A test that wants a $TZ sets it itself.
for _name in ("TZ", "INVOCATION_ID"):
    os.environ.pop(_name, None)
time.tzset()


# Test files that keep the cores busy (a browser each, the benchmarks' peers), and the files
# they are spread among: these mostly wait on real peers (brokers, serial lines, timeouts).
BUSY = ("tests/web/", "tests/test_bench_quick.py")
WAITING = "tests/edge/"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests run on several workers (`make test`: pytest-xdist, `--dist loadgroup`); those
    using the PC/SC service share one worker: there is one pcscd and one virtual card reader per
    machine, and one of them stalls the service on purpose. The busy files are spread among
    the waiting ones, so that the workers do not all run browsers at once at the end."""
    for item in items:
        if "pcscd" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("pcsc"))
    items[:] = spread(items, lambda p: p.startswith(BUSY), lambda p: p.startswith(WAITING))


def spread(
    items: list[pytest.Item], busy: Callable[[str], bool], waiting: Callable[[str], bool]
) -> list[pytest.Item]:
    """`items` file by file (by the path of the node id), the files `busy` says of spread
    evenly among those `waiting` says of, the others where they were; each file's tests
    together and in their order."""
    files: dict[str, list[pytest.Item]] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::")[0], []).append(item)
    heavy = [tests for path, tests in files.items() if busy(path)]
    hosts = sum(1 for path in files if waiting(path) and not busy(path))
    if not heavy or not hosts:
        return items
    ordered: list[pytest.Item] = []
    seen = placed = 0
    for path, tests in files.items():
        if busy(path):
            continue
        ordered += tests
        if waiting(path):
            seen += 1
            while placed < seen * len(heavy) // hosts:  # the busy files due by now
                ordered += heavy[placed]
                placed += 1
    for tests in heavy[placed:]:
        ordered += tests
    return ordered


@pytest.fixture(autouse=True, scope="session")
def a_machine_without_systemd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """check-config asks systemd whether it holds the daemon back until NTP has set the clock:
    on a host booted with systemd without that service (as CI machines may be), every test
    counting check-config's warnings would find one more. In-process, check-config sees a
    machine not booted with systemd; tests/edge/test_check_config_clock.py gives it others."""
    nowhere = tmp_path_factory.mktemp("machine")
    host = clock_checks.Systemd(nowhere / "run-systemd-system", str(nowhere / "systemctl"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(clock_checks, "HOST", host)
        yield


# How long a test's tasks get to finish after the test and its fixtures ended (a cancelled task
# still runs its cleanup).
TASKS_GRACE_SECONDS = 2.0


@pytest.fixture(autouse=True)
def no_log_limit_left_behind() -> Iterator[None]:
    """A command run in the test's process (`rxedge run` through its main) puts its repeat
    limit on the root logger's handlers, pytest's own among them: take it off again, so that a
    later test's log is not thinned by an earlier one's."""
    yield
    for handler in logging.getLogger().handlers:
        for limit in [f for f in handler.filters if isinstance(f, RepeatLimit)]:
            handler.removeFilter(limit)


@pytest.fixture(autouse=True)
async def no_task_left_behind() -> AsyncIterator[None]:
    """Fail a test that leaves asyncio tasks running once it and its fixtures are done (they
    would run on into the next test, or be destroyed pending when the loop closes)."""
    yield
    await fail_on_tasks_left()


async def fail_on_tasks_left(spared: Collection[asyncio.Task[Any]] = ()) -> None:
    """Fail the test if asyncio tasks still run once the grace is over (cancelled then), the
    current task and `spared` aside: those that outlive every test on purpose (tests/web's
    Playwright driver, shared by the tests of a process)."""
    me = asyncio.current_task()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TASKS_GRACE_SECONDS
    while left := [
        t for t in asyncio.all_tasks() if t is not me and t not in spared and not t.done()
    ]:
        if loop.time() > deadline:
            for task in left:
                task.cancel()
            await asyncio.gather(*left, return_exceptions=True)
            names = ", ".join(sorted(f"{t.get_name()} ({_coroutine_of(t)})" for t in left))
            pytest.fail(f"the test left {len(left)} asyncio task(s) running: {names}")
        await asyncio.sleep(0.02)


def _coroutine_of(task: asyncio.Task[Any]) -> str:
    coro = task.get_coro()
    return str(getattr(coro, "__qualname__", coro))


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[LocalBroker]:
    """A private mosquitto on a free loopback port, killed after the test: nothing it would
    save is read again, and asked to stop it often takes a tenth of a second to go."""
    server = LocalBroker(tmp_path / "broker")
    await server.start()
    yield server
    server.kill()


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[LocalBroker]:
    """A broker of one's own (the demo's `--broker`), already running, for a test that runs its
    own event loop (the demo in process); stopped as a broker is, saving what it keeps."""
    server = LocalBroker(tmp_path / "broker")
    asyncio.run(server.start())
    yield server
    asyncio.run(server.stop())


async def eventually(
    condition: Callable[[], Any],
    timeout: float = 10.0,
    interval: float = 0.02,
    what: str | Callable[[], str] = "",
) -> Any:
    """Wait until `condition()` (sync or async) is truthy and return it; fail after `timeout`
    saying `what` was waited for (a callable: what it says then, e.g. the counts reached)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            said = what() if callable(what) else what
            pytest.fail(f"timed out after {timeout} s waiting for {said or condition}")
        await asyncio.sleep(interval)


async def subscribed(gateway: Any, timeout: float = 10.0) -> None:
    """Wait until `gateway` has subscribed to its commands: its `ready` comes before its MQTT
    session is up, and a command published before the first subscription of a new session is
    not kept for it by the broker (a session of its own kept across restarts is)."""
    await eventually(
        lambda: gateway.session is not None and gateway.session.subscribed.is_set(),
        timeout=timeout,
        what="the gateway subscribed to its commands",
    )


async def scanners_open(gateway: Any, timeout: float = 10.0) -> None:
    """Wait until `gateway` has opened every scanner port whose simulator runs (its pty link
    exists): a serial port's input is flushed as the daemon opens it, so a scan sent before
    that is never read, by this daemon as by a real one. `ready` comes before the ports open."""
    simulated = {s.port for s in gateway.config.scanners if Path(s.port).exists()}
    await eventually(
        lambda: all(s.up is True for s in gateway.devices.scanners if s.port.url in simulated),
        timeout=timeout,
        what="the scanners' ports open",
    )


async def buttons_read(gateway: Any, timeout: float = 10.0) -> None:
    """Wait until `gateway` has read every shelf controller's buttons once (two polls answered:
    the shelves of the tests have one span of buttons each): the first read is what presses
    are counted from, so a press before it is not one, for this daemon as for a real one."""
    from edge.service.device_metrics import shelf_controllers

    await eventually(
        lambda: all(bus.stats(name).polls >= 2 for bus, name in shelf_controllers(gateway.devices)),
        timeout=timeout,
        what="every shelf controller's buttons read",
    )


class Subscriber:
    """A plain paho client in its own thread, independent of rxedge's MQTT code. Every message
    it receives from the gateway (any rxedge/v1/... topic but those the centre sends on) is
    checked against the contract; what does not conform is kept in `violations`."""

    def __init__(
        self,
        port: int,
        topics: list[str],
        client_id: str = "test-subscriber",
        persistent: bool = False,
    ):
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.received: list[mqtt.MQTTMessage] = []
        self.violations: list[str] = []
        self._subscribed = threading.Event()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self._client.on_connect = lambda c, *_: c.subscribe([(t, 1) for t in topics])
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.on_message = lambda _c, _u, msg: self._receive(msg)
        properties = Properties(PacketTypes.CONNECT)
        if persistent:
            # The broker keeps the subscription and queues messages while this client is away.
            properties.SessionExpiryInterval = 3600
        self._client.reconnect_delay_set(0.1, 0.5)
        self._client.connect("127.0.0.1", port, clean_start=not persistent, properties=properties)
        self._client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError("subscriber could not subscribe")

    def _receive(self, msg: mqtt.MQTTMessage) -> None:
        try:
            if msg.topic.startswith(f"{ROOT}/") and not _to_the_gateway(msg.topic):
                for problem in check_topic(msg.topic, msg.payload):
                    self.violations.append(f"{msg.topic}: {problem} ({msg.payload[:400]!r})")
        except Exception as exc:  # never let a check stop the client's thread
            self.violations.append(f"{msg.topic}: checking it failed: {exc!r}")
        self.messages.put(msg)

    def drain(self) -> list[mqtt.MQTTMessage]:
        """Everything received so far."""
        while True:
            try:
                self.received.append(self.messages.get_nowait())
            except queue.Empty:
                return self.received

    def payloads(self, topic_suffix: str) -> list[Any]:
        """JSON payloads received on topics ending with `topic_suffix`."""
        return [json.loads(m.payload) for m in self.drain() if m.topic.endswith(topic_suffix)]

    def publish(self, topic: str, payload: str | bytes) -> None:
        """Send as the centre would (QoS 1), waiting for the broker's acknowledgement."""
        self._client.publish(topic, payload, qos=1).wait_for_publish(5)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def retained_at(
    port: int, topic_filter: str, timeout: float = 10.0, protocol: int = mqtt.MQTTv5
) -> dict[str, bytes]:
    """What the broker holds retained under `topic_filter`: topic -> payload. A probe message
    sent after subscribing comes back after every retained message (the broker sends them in
    order on one connection), so no waiting is guessed. `protocol`: mqtt.MQTTv311 for a broker
    that speaks only 3.1.1 (NATS's MQTT gateway)."""
    probe = f"test/probe/{uuid.uuid4()}"
    held: dict[str, bytes] = {}
    done = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=protocol)

    def arrived(msg: mqtt.MQTTMessage) -> None:
        if msg.topic == probe:
            done.set()
        elif msg.retain:
            held[msg.topic] = msg.payload

    client.on_connect = lambda c, *_: c.subscribe([(topic_filter, 1), (probe, 1)])
    client.on_subscribe = lambda c, *_: c.publish(probe, b"", qos=1)
    client.on_message = lambda _c, _u, msg: arrived(msg)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        if not done.wait(timeout):
            raise TimeoutError(f"no answer from the broker on port {port}")
    finally:
        client.disconnect()
        client.loop_stop()
    return held


@pytest.fixture
def subscribe(broker: LocalBroker) -> Callable[..., Subscriber]:
    """Start independent subscribers on the test's broker; closed after the test, which fails
    then if any message from the gateway broke the contract (a watcher on every topic comes with
    the first subscriber, so every message counts, not only those the test asked for)."""
    made: list[Subscriber] = []

    def make(
        *topics: str, client_id: str = "test-subscriber", persistent: bool = False
    ) -> Subscriber:
        if not made:
            made.append(Subscriber(broker.port, [f"{ROOT}/#"], "contract-watcher"))
        sub = Subscriber(broker.port, list(topics), client_id, persistent)
        made.append(sub)
        return sub

    yield make  # type: ignore[misc]
    for sub in made:
        sub.close()
    violations = list(dict.fromkeys(v for sub in made for v in sub.violations))
    if violations:
        pytest.fail(
            f"{len(violations)} message(s) from the gateway break the MQTT contract "
            "(sync/schemas, docs/asyncapi.yaml):\n" + "\n".join(violations[:20])
        )


def _to_the_gateway(topic: str) -> bool:
    """Sent by the centre (here: the test, with payloads that may be bad on purpose)."""
    found = channel_of(topic)
    if found is not None:
        return found[0].sender == CENTRE
    return "/cmd/" in topic  # a command name the gateway does not know


Waiter = Callable[..., Awaitable[Any]]


@pytest.fixture(scope="session")
def pcscd() -> Iterator[None]:
    """The real PC/SC service with vpcd's virtual readers; started here unless already running."""
    running = bool(pids_named("pcscd"))
    process = None
    binary = shutil.which("pcscd") or "/usr/sbin/pcscd"
    if not running and not Path(binary).exists():
        pytest.fail("pcscd is not installed: run `make test` (it installs it)")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if not running and (process is None or process.poll() is not None):
            # (Re)start: a pcscd that was just stopped may still hold its socket for a moment.
            process = subprocess.Popen(
                [binary, "-f"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", 35963)) == 0:
                break
        time.sleep(0.1)
    else:
        pytest.fail("vpcd (package vsmartcard-vpcd) does not listen on 35963")
    yield
    if process is not None:
        process.terminate()
        process.wait(10)
