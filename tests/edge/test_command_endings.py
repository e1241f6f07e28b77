"""The demo and the simulators stopped with SIGTERM (a `timeout`, a service manager, `kill`) tidy
up as they do on Ctrl-C: nothing of theirs runs on, nothing of theirs is left on disk."""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from tests.processes import (
    children_named,
    command_line,
    ended,
    in_private_network,
    private_network,
)

ROOT = Path(__file__).resolve().parents[2]
RXEDGE = [sys.executable, "-m", "edge.cli.main"]


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*RXEDGE, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        start_new_session=True,  # its own session: what it started can be found by session id
    )


def _read_until(process: subprocess.Popen[str], marker: str, timeout: float = 30.0) -> str:
    assert process.stdout is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        line = process.stdout.readline()
        assert line and time.monotonic() < deadline, f"no {marker!r} in:\n{seen}"
        seen += line
    return seen


def _end_session(process: subprocess.Popen[str]) -> None:
    """Whatever is left of a failed run, ended so that it does not outlive the test."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _in_session(session: int) -> list[str]:
    listed = subprocess.run(
        ["ps", "-o", "args=", "-s", str(session)], capture_output=True, text=True, check=False
    )
    return listed.stdout.splitlines()


def test_demo_stopped_by_sigterm_stops_its_broker_and_leaves_no_files(tmp_path: Path) -> None:
    demo = _start("demo", "--plain", "--seconds", "60")
    broker = None
    try:
        _read_until(demo, "sync      connected")
        # In a session of its own: the terminal's signals reach only the demo, which stops it.
        (broker,) = children_named(demo.pid, "mosquitto")
        conf = re.search(r"-c (\S+)/broker/mosquitto\.conf", " ".join(command_line(broker)))
        assert conf, command_line(broker)
        workdir = Path(conf[1])
        assert workdir.is_dir()
        demo.send_signal(signal.SIGTERM)
        out, _ = demo.communicate(timeout=30)
        assert _in_session(demo.pid) == [] and ended(broker), "the demo's mosquitto outlived it"
    finally:
        _end_session(demo)
        if broker is not None and not ended(broker):
            os.kill(broker, signal.SIGKILL)
    assert demo.returncode == 128 + signal.SIGTERM, out
    assert not workdir.exists(), "the demo's temporary ledger and broker files were left behind"
    assert "Traceback" not in out


def test_demo_whose_output_reader_went_away_ends_as_if_its_window_closed() -> None:
    """`rxedge demo | tee log` in a window that closes: tee goes (the pipe breaks), and the
    demo's SIGHUP comes: it tidies up and exits 129, saying nothing of a broken pipe."""
    read, write = os.pipe()
    demo = subprocess.Popen(
        [*RXEDGE, "demo", "--plain", "--seconds", "60"],
        stdout=write,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        start_new_session=True,
    )
    os.close(write)
    try:
        seen, deadline = b"", time.monotonic() + 30
        while b"sync      connected" not in seen:
            left = deadline - time.monotonic()
            assert left > 0 and select.select([read], [], [], left)[0], seen.decode()
            seen += os.read(read, 65536)
        os.close(read)  # tee has gone
        demo.send_signal(signal.SIGHUP)
        _, err = demo.communicate(timeout=30)
        assert _in_session(demo.pid) == [], "the demo's mosquitto outlived it"
    finally:
        _end_session(demo)
    assert demo.returncode == 128 + signal.SIGHUP, err
    assert "Traceback" not in err and "Broken pipe" not in err, err


def test_simulator_stopped_by_sigterm_removes_its_link(tmp_path: Path) -> None:
    link = tmp_path / "reader0"
    sim = _start("sim", "r2000", "--link", str(link), "--tags", "0")
    try:
        _read_until(sim, "Ctrl-C to stop")
        assert link.is_symlink()
        sim.send_signal(signal.SIGTERM)
        out, _ = sim.communicate(timeout=20)
    finally:
        _end_session(sim)
    assert sim.returncode == 128 + signal.SIGTERM, out
    assert not link.is_symlink(), "a link to a pty nobody serves any more was left behind"


def _demo_for_3_seconds() -> subprocess.CompletedProcess[str]:
    """`rxedge demo --plain` given too little time to finish."""
    return subprocess.run(
        [*RXEDGE, "demo", "--plain", "--seconds", "3"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def test_demo_out_of_time_says_so_and_names_no_removed_ledger() -> None:
    result = _demo_for_3_seconds()
    assert result.returncode == 1, result.stdout + result.stderr
    summary = result.stdout.split("\nsummary\n")[1]
    assert "scenario NOT complete" in summary
    assert "not observed within --seconds 3:" in summary, summary
    assert "longer --seconds" in summary, "the newcomer is told what to try"
    ledger = re.search(r"ledger:\s+(.*)", summary)
    assert ledger and "--db" in ledger[1], summary
    assert not re.search(r"/\S+\.sqlite", ledger[1]), "it names a ledger that is gone"


def _hold(sock: socket.socket, address: tuple[str, int], seconds: float = 60.0) -> bool:
    """Bind and listen on `address`; while another process (another demo of the suite) holds
    it, wait for it to let go, so that the port cannot come free during the test. Held for
    longer than `seconds` (a gateway of this machine): taken all the same, and False."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the endpoint's server does
    deadline = time.monotonic() + seconds
    while True:
        try:
            sock.bind(address)
        except OSError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        else:
            sock.listen()
            return True


class _GatewayEndpoint(BaseHTTPRequestHandler):
    """Answers as a running gateway's metrics endpoint does to who asks what holds its port:
    the suite's other tests run check-config meanwhile, which warns of a port held by anything
    else."""

    def do_GET(self) -> None:
        body = b'rxedge_gateway_info{site="s",gateway="holding"} 1\n'
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def _served_as_a_gateway(sock: socket.socket) -> Iterator[None]:
    """`sock`, bound and listening, answering as a gateway's endpoint while in the block."""
    server = HTTPServer(sock.getsockname(), _GatewayEndpoint, bind_and_activate=False)
    server.socket = sock
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        thread.join(10)


# Holds 127.0.0.1:9464 and runs the command given, passing its output on.
HOLDING_9464 = """
import socket, subprocess, sys
with socket.socket() as taken:
    taken.bind(("127.0.0.1", 9464))
    taken.listen()
    done = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=60)
sys.stdout.write(done.stdout)
sys.stderr.write(done.stderr)
"""


def test_demo_with_the_metrics_address_taken_runs_without_its_endpoint_quietly() -> None:
    """A gateway on this machine (or another demo) holds 127.0.0.1:9464: the demo says it
    runs without metrics, instead of an ERROR line from its daemon. In a network of its own
    where it can be had, so the port is not waited for while the suite's other gateways hold
    it; else held here once they let go, answering as a gateway does (check-config, run by
    other tests meanwhile, warns of the port held by anything else)."""
    if private_network():
        demo = [*RXEDGE, "demo", "--plain", "--seconds", "3"]
        run = [sys.executable, "-c", HOLDING_9464, *demo]
        result = subprocess.run(
            in_private_network(run), capture_output=True, text=True, cwd=ROOT, timeout=90
        )
    else:
        with socket.socket() as taken, contextlib.ExitStack() as serving:
            if _hold(taken, ("127.0.0.1", 9464)):
                serving.enter_context(_served_as_a_gateway(taken))
            result = _demo_for_3_seconds()
    out = result.stdout + result.stderr
    assert "metrics: off (the default address is taken" in out, out
    assert "cannot listen" not in out and " ERROR " not in out, out


def test_demo_web_port_taken_says_what_to_do(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        demo = _start("demo", "--plain", "--web", str(port), "--db", str(tmp_path / "l.sqlite"))
        try:
            out, _ = demo.communicate(timeout=30)
            assert _in_session(demo.pid) == [], "the demo's mosquitto outlived it"
        finally:
            _end_session(demo)
    assert demo.returncode == 2, out
    assert "Traceback" not in out
    assert f"--web {port}: cannot listen on 127.0.0.1:{port}" in out, out
    assert "--web 0" in out, "the way out: a free port"


def test_shelf_simulator_on_a_taken_port_names_it() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*RXEDGE, "sim", "shelf", "--port", str(port)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=30,
            check=False,
        )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr, result.stderr
    assert "another --port" in result.stderr
