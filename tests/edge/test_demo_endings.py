"""`make demo` as a newcomer meets it, in an 80 x 24 terminal: the web page's address and login
stay on the screen, however the demo is stopped it tidies up (Ctrl-C, the window closed) and
says what ran, and on a broker of one's own, beside another demo there, it leaves no retained
message behind."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.demo.local_broker import LocalBroker
from tests.processes import children_named, command_line, ended

ROOT = Path(__file__).resolve().parents[2]
RXEDGE = [sys.executable, "-m", "edge.cli.main"]
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")
# The live screen's line under its header, whole on 80 columns.
PAGE_LINE = re.compile(r"web page (http://127\.0\.0\.1:\d+)  user pharmacist  password (\S+)")


class Terminal:
    """`rxedge ARGS` in a terminal of its own (a pty, `columns` x `rows`), as a window runs it:
    the session's leader, the terminal its controlling one, so that Ctrl-C typed there and the
    window closing reach it as they would."""

    def __init__(self, *args: str, columns: int = 80, rows: int = 24):
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.process = subprocess.Popen(
            [*RXEDGE, *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=ROOT,
            start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
        os.close(slave)
        self.seen = b""
        self.broker: int | None = None  # the demo's mosquitto, once found
        self.workdir: Path | None = None  # the demo's temporary directory, once found

    def demo_broker(self, timeout: float = 30.0) -> tuple[int, Path]:
        """The demo's mosquitto and its working directory (the demo's temporary one)."""
        deadline = time.monotonic() + timeout
        while not (found := children_named(self.process.pid, "mosquitto")):
            assert time.monotonic() < deadline, "the demo started no mosquitto"
            time.sleep(0.05)
        self.broker = found[0]
        args = command_line(self.broker)
        self.workdir = Path(args[args.index("-c") + 1]).parent.parent
        assert self.workdir.name.startswith("rxedge-demo-"), args
        return self.broker, self.workdir

    @property
    def text(self) -> str:
        """What was written to the terminal, without its colours and cursor moves."""
        return ANSI.sub(b"", self.seen).decode(errors="replace").replace("\r", "")

    def read_until(self, pattern: str, timeout: float = 60.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while not (found := re.search(pattern, self.text)):
            assert self._read(deadline), f"no {pattern!r} on the screen:\n{self.text[-3000:]}"
        return found

    def read_to_the_end(self, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while self._read(deadline):
            pass
        assert time.monotonic() < deadline, f"still writing after {timeout} s:\n{self.text}"
        return self.text

    def _read(self, deadline: float) -> bool:
        """Read what came; False at the end (every writer gone) or past the deadline."""
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([self.master], [], [], left)[0]:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: nothing holds the terminal any more
            return False
        self.seen += data
        return bool(data)

    def close(self) -> None:
        """The window closed: the terminal hangs up."""
        if self.master >= 0:
            os.close(self.master)
            self.master = -1

    def end(self) -> None:
        """Whatever is left of a failed run, ended so that it does not outlive the test."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.broker is not None and not ended(self.broker):
            os.kill(self.broker, signal.SIGKILL)
        self.process.wait()
        self.close()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


def left_behind(broker: int, workdir: Path) -> list[str]:
    """What of the demo outlived it: its mosquitto, its temporary directory (ledger, broker
    files, web accounts)."""
    running = [f"its mosquitto (pid {broker})"] if not ended(broker) else []
    return running + ([f"its files in {workdir}"] if workdir.exists() else [])


def test_ctrl_c_ends_the_demo_with_its_summary_its_broker_and_files_gone() -> None:
    terminal = Terminal("demo", "--web", "0")  # what `make demo` runs
    try:
        broker, workdir = terminal.demo_broker()
        terminal.read_until("ok: the daemon put away all 18")
        os.write(terminal.master, b"\x03")  # Ctrl-C: SIGINT to the terminal's foreground group
        out = terminal.read_to_the_end()
        terminal.process.wait(timeout=10)
        left = left_behind(broker, workdir)
    finally:
        terminal.end()
    assert terminal.process.returncode == 130, out[-3000:]
    summary = out.rpartition("\nsummary\n")[2]
    assert "stopped (Ctrl-C or a signal) before the scenario ended" in summary, out[-3000:]
    assert "checks observed:" in summary
    # The broker outlived the daemon and its centre: nothing lost its link on the way out.
    assert "lost mqtt://" not in out and "WARNING" not in out and "Traceback" not in out, out
    assert left == [], "the demo left behind " + " and ".join(left)
    # The page's address and login: on the screen under its header, whole on 80 columns...
    shown = PAGE_LINE.search(out)
    assert shown, "the web page's login is not on the live screen"
    url, password = shown.groups()
    # ...and in the summary, with how to keep the page up.
    assert f"web page:             {url}, stopped with the demo" in summary, summary
    assert f"log in as pharmacist, password {password}" in summary, summary
    # Typed as the README types it (this run was started with `python -m`).
    assert "to keep it up: .venv/bin/rxedge demo --web 0 --forever" in summary, summary
    assert all(len(line) <= 80 for line in summary.splitlines()), summary


def test_closing_the_window_stops_the_demo_its_broker_and_removes_its_files() -> None:
    """The newcomer kept the page up with --forever, clicked around, and closed the window."""
    terminal = Terminal("demo", "--web", "0", "--forever")
    try:
        broker, workdir = terminal.demo_broker()
        header = terminal.read_until(r"scenario done; the daemon.*\n.*\n", 120)[0]
        terminal.close()  # the terminal hangs up: SIGHUP to the demo
        terminal.process.wait(timeout=30)
        left = left_behind(broker, workdir)
    finally:
        terminal.end()
    assert terminal.process.returncode == 128 + signal.SIGHUP
    assert left == [], "each closed window would leave behind " + " and ".join(left)
    # The page's address and login were still on the screen, under the header.
    assert "the daemon and the web page run on until" in header, header
    assert PAGE_LINE.search(header.splitlines()[1]), header


def retained_under(broker: LocalBroker, topic_filter: str) -> dict[str, bytes]:
    """What `broker` holds retained under `topic_filter`: mosquitto sends it right after the
    SUBACK, before a message published after it, here to a marker topic of the test's own."""
    held: dict[str, bytes] = {}
    marked = threading.Event()

    def on_message(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        if message.topic == "test/marker":
            marked.set()
        elif message.retain:
            held[message.topic] = message.payload

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="retained-check")
    client.on_message = on_message
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        for topic in (topic_filter, "test/marker"):
            assert client.subscribe(topic, qos=1)[0] == mqtt.MQTT_ERR_SUCCESS
        client.publish("test/marker", b"", qos=1).wait_for_publish(10)
        assert marked.wait(10), "the marker did not come back"
    finally:
        client.disconnect()
        client.loop_stop()
    return held


def session_kept(broker: LocalBroker, client_id: str) -> bool:
    """Whether the broker keeps a session for `client_id` (asked by connecting under it without
    a clean start; the session then ends with this connection)."""
    answered = threading.Event()
    present: list[bool] = []

    def on_connect(_c: mqtt.Client, _u: object, flags: mqtt.ConnectFlags, *_: object) -> None:
        present.append(flags.session_present)
        answered.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id, protocol=mqtt.MQTTv5)
    client.on_connect = on_connect
    client.connect("127.0.0.1", broker.port, clean_start=False)
    client.loop_start()
    try:
        assert answered.wait(10), "no CONNACK"
    finally:
        client.disconnect()
        client.loop_stop()
    return present[0]


@pytest.mark.timeout(300)
def test_two_demos_on_one_broker_of_ones_own_each_finish_and_leave_nothing_retained(
    broker: LocalBroker, tmp_path: Path
) -> None:
    """Two newcomers point their demos at the team's broker at once: each run is a gateway of
    its own there, so neither throws the other off or answers the other's commands, and each
    clears what it left itself."""
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    demos = []
    for log, web in zip(logs, (["--web", "0"], []), strict=True):
        with log.open("w") as out:
            demos.append(
                subprocess.Popen(
                    [*RXEDGE, "demo", "--broker", broker.url, "--plain", "--seconds", "150", *web],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=ROOT,
                )
            )
    try:
        for demo in demos:
            demo.wait(timeout=240)
    finally:
        for demo in demos:
            demo.kill()
            demo.wait()
    outs = [log.read_text() for log in logs]
    for demo, out in zip(demos, outs, strict=True):
        assert demo.returncode == 0, out
    left = retained_under(broker, "rxedge/v1/#")
    assert left == {}, f"retained messages of the demo left on the broker: {json.dumps(list(left))}"
    names = []
    for out in outs:
        named = re.search(r"as gateway demo-pharmacy/(gw-[0-9a-f]{6}) \(a name of this run", out)
        assert named, out
        names.append(named[1])
        client = f"rxedge-demo-pharmacy-{named[1]}"
        assert not session_kept(broker, client), "the gateway's session was kept"
        assert "whoever watches it gets the demo's requests and alarms" in out
        summary = out.rpartition("\nsummary\n")[2]
        cleared = re.search(r"broker: +(\d+) retained message\(s\) of the demo cleared", summary)
        assert cleared and int(cleared[1]) >= 3, summary  # status, shelf A's lights, alarms
        assert "pick lists done:      2 (rx-1001, rx-1002)" in summary, summary
    assert names[0] != names[1]
    # The page's address and login in the summary of a run that ended by itself.
    summary = outs[0].rpartition("\nsummary\n")[2]
    assert re.search(r"web page: +http://127\.0\.0\.1:\d+, stopped with the demo", summary)
    assert re.search(r"log in as pharmacist, password \S+", summary), summary
    assert "to keep it up: .venv/bin/rxedge demo --web 0 --forever" in summary
