"""The simulators driven from outside, as an integrator without hardware would: each runs as
its own process (`rxedge sim ... --control 0`) and takes line commands on a loopback socket,
here from plain sockets and `rxedge sim ctl`, while the daemon watches the simulated devices.
Packs put in a reader's field are put away, moved and picked; a pressed button reaches the
daemon; a reader, an antenna or a shelf controller made to fail raises its alarm and clears it."""

from __future__ import annotations

import asyncio
import re
import socket
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import serial

from edge.daemon.activity import Activity
from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker
from edge.settings.config import parse_config
from firmware_sim.tags import sgtin96
from tests.conftest import eventually

ROOT = Path(__file__).resolve().parents[2]
PACK = sgtin96("4012345", "012345", 77).hex().upper()


@dataclass
class Sim:
    process: subprocess.Popen[str]
    control: int
    lines: list[str]

    def ask(self, line: str) -> str:
        """One command over a plain socket, as any language would send it."""
        with socket.create_connection(("127.0.0.1", self.control), timeout=10) as conn:
            conn.sendall(line.encode() + b"\n")
            return conn.makefile("rb").readline().decode().strip()


def start_sim(*args: str) -> Sim:
    process = subprocess.Popen(
        [sys.executable, "-m", "edge.cli.main", "sim", *args, "--control", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines = [process.stdout.readline() for _ in range(2)]  # its control port, then its line
    found = re.search(r"control on 127\.0\.0\.1:(\d+)", "".join(lines))
    assert found, lines
    return Sim(process, int(found.group(1)), lines)


def stop_sim(sim: Sim) -> None:
    sim.process.terminate()
    sim.process.wait(10)
    if sim.process.stdout is not None:
        sim.process.stdout.close()


@pytest.fixture
def sims(tmp_path: Path) -> Iterator[tuple[Sim, Sim]]:
    reader = start_sim("r2000", "--link", str(tmp_path / "reader"), "--tags", "0")
    shelf = start_sim("shelf", "--port", "0", "--slots", "8")
    yield reader, shelf
    for sim in (reader, shelf):
        stop_sim(sim)


@pytest.fixture
async def daemon(
    tmp_path: Path, broker: LocalBroker, sims: tuple[Sim, Sim]
) -> AsyncIterator[tuple[Gateway, list[Activity]]]:
    shelf_port = re.search(r"Modbus TCP on 127\.0\.0\.1:(\d+)", "".join(sims[1].lines))
    assert shelf_port
    activity: list[Activity] = []
    config = parse_config(
        {
            "site": "s1",
            "gateway": "g1",
            "database": str(tmp_path / "ledger.sqlite"),
            "create_database": True,
            "broker": {"url": broker.url},
            "presence": {"dwell_seconds": 0.5},
            "devices": {"down_alarm_seconds": 0.5},
            "readers": [
                {
                    "name": "r1",
                    "port": str(tmp_path / "reader"),
                    "antennas": {"1": "A-01", "2": "A-02"},
                }
            ],
            "shelves": [
                {"name": "A", "host": "127.0.0.1", "port": int(shelf_port.group(1)), "slots": 8}
            ],
        }
    )
    gateway = Gateway(config, observer=activity.append)
    task = asyncio.create_task(gateway.run())
    await eventually(gateway.ready.is_set)
    yield gateway, activity
    gateway.stop()
    await asyncio.wait_for(task, 10)


def moves(db: Path) -> list[tuple[str, str | None, str | None]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT kind, from_slot, to_slot FROM movements ORDER BY id")
        return [tuple(r) for r in rows]


def alarm(db: Path, alarm_id: str) -> str | None:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT state FROM alarms WHERE id = ?", (alarm_id,)).fetchone()
        return None if row is None else str(row[0])


async def test_packs_come_move_and_go_as_the_reader_control_says(
    tmp_path: Path, sims: tuple[Sim, Sim], daemon: tuple[Gateway, list[Activity]]
) -> None:
    reader, _ = sims
    db = tmp_path / "ledger.sqlite"
    assert reader.ask(f"tag add 1 {PACK}") == "ok"
    await eventually(lambda: moves(db) == [("put_away", None, "A-01")], what="put away")
    assert reader.ask(f"tag move {PACK} 2") == "ok"
    assert reader.ask("tags") == f"ok 2:{PACK}"
    await eventually(lambda: moves(db)[1:] == [("move", "A-01", "A-02")], what="moved")
    ctl = subprocess.run(
        [
            sys.executable,
            "-m",
            "edge.cli.main",
            "sim",
            "ctl",
            str(reader.control),
            "tag",
            "remove",
            PACK,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (ctl.returncode, ctl.stdout) == (0, "ok\n")
    await eventually(lambda: moves(db)[2:] == [("pick", "A-02", None)], what="picked")
    again = reader.ask(f"tag remove {PACK}")
    assert again == f"error tag {PACK} is on no antenna"
    assert reader.ask("tag add 9 00").startswith("error antenna must be 1 to 8")
    assert reader.ask("launch").startswith("error unknown command 'launch'")


async def test_a_button_pressed_through_the_shelf_control_reaches_the_daemon(
    sims: tuple[Sim, Sim], daemon: tuple[Gateway, list[Activity]]
) -> None:
    _, shelf = sims
    _, activity = daemon
    await eventually(lambda: any("A is up" in a.text for a in activity), what="shelf polled")
    assert shelf.ask("press 3 2") == "ok"
    await eventually(
        lambda: any(a.text == "A-03 pressed 2 time(s)" for a in activity), what="press seen"
    )
    assert shelf.ask("light 3") == "ok off"
    assert shelf.ask("press 9").startswith("error slot must be 1 to 8")


async def test_devices_made_to_fail_raise_their_alarms_and_clear_them(
    tmp_path: Path, sims: tuple[Sim, Sim], daemon: tuple[Gateway, list[Activity]]
) -> None:
    reader, shelf = sims
    db = tmp_path / "ledger.sqlite"
    for sim, device in ((reader, "r1"), (shelf, "A")):
        assert sim.ask("fail on") == "ok"
        await eventually(lambda d=device: alarm(db, f"device_down-{d}") == "raised", timeout=20)
        assert sim.ask("fail off") == "ok"
        await eventually(lambda d=device: alarm(db, f"device_down-{d}") == "cleared", timeout=20)
    assert reader.ask("antenna 2 fail on") == "ok"
    await eventually(lambda: alarm(db, "device_down-r1-antenna-2") == "raised")
    assert reader.ask("antenna 2 fail off") == "ok"
    await eventually(lambda: alarm(db, "device_down-r1-antenna-2") == "cleared")


def test_the_control_answers_nonsense_and_keeps_serving(sims: tuple[Sim, Sim]) -> None:
    reader, _ = sims
    with socket.create_connection(("127.0.0.1", reader.control), timeout=10) as conn:
        replies = conn.makefile("rb")
        for line, answer in [
            (b"\xff\xfe", b"error not UTF-8 text"),
            (b"", b"error empty command; try help"),
            (b"tag", b"error usage: tag add ANTENNA EPC"),
            (b"fail maybe", b"error say on or off, not 'maybe'"),
            (b"help", b"ok tag add ANTENNA EPC"),
        ]:
            conn.sendall(line + b"\n")
            assert replies.readline().startswith(answer)
        conn.sendall(b"x" * 5000 + b"\n")
        assert replies.readline().startswith(b"error line longer than 1024 bytes")
    assert reader.ask("tags") == "ok"


def test_the_scanner_control_scans_a_code_on_demand(tmp_path: Path) -> None:
    scanner = start_sim("scanner", "--link", str(tmp_path / "scanner"))
    try:
        with serial.Serial(str(tmp_path / "scanner"), 9600, timeout=10) as port:
            assert scanner.ask("scan 01040123451234561726013110ABC<GS>21XYZ") == "ok"
            assert port.readline() == b"]d201040123451234561726013110ABC\x1d21XYZ\r\n"
        assert scanner.ask("scan").startswith("error usage: scan ELEMENT_STRING")
    finally:
        stop_sim(scanner)
