"""The soak test's rig: what is on the shelves, the daemon's configuration file, the daemon as a
process (its RSS and open file descriptors read from /proc), the fixed readers' process, the
ledger read from outside, and the growth criteria for RSS and file descriptors."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from firmware_sim.scanner_sim import GS
from firmware_sim.tags import sgln96, sgtin96
from inventory.codes.gtin import gtin_check_digit
from inventory.codes.identifiers import EpcDecoder, PackId
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind

ROOT = Path(__file__).resolve().parents[2]
SITE, GATEWAY = "s1", "g1"
PREFIX = f"rxedge/v1/{SITE}/{GATEWAY}"
COMPANY = "4012345"
GLN_REF = "00001"
GLN = f"{COMPANY}{GLN_REF}" + str(gtin_check_digit(f"0{COMPANY}{GLN_REF}"))
TAGS_PER_ANTENNA = 8
ANTENNAS = (1, 2, 3, 4)
COUNTED_PAR, COUNTED_REORDER = 16, 6
COUNTED_EXPIRY, DELIVERED_EXPIRY = "2031-06-30", "2031-12-31"
SWEPT_SLOTS = (5, 6, 7, 8)  # A-05 .. A-08; A-01 .. A-04 hold the counted products
SHELF_A_SLOTS = SWEPT_SLOTS[-1]
PACKS_PER_SWEPT_SLOT = 3

# Growth allowed between the first and the last third of the samples taken after the warm-up.
RSS_GROWTH = 0.15  # median RSS of the last third at most 15 % above the first third's
FD_GROWTH = 5  # most fds open in the last third fewer than 5 above the first third's most


def slot(number: int, shelf: str = "A") -> str:
    return f"{shelf}-{number:02d}"


def identity(epc: bytes) -> PackId:
    found = EpcDecoder().decode(epc)
    assert isinstance(found, PackId), found
    return found


def location(number: int) -> bytes:
    """The location tag of slot A-{number}."""
    return sgln96(COMPANY, GLN_REF, number)


@dataclass(frozen=True, slots=True)
class TaggedPack:
    epc: bytes
    reader: int
    antenna: int  # where it sits at the start


@dataclass(frozen=True, slots=True)
class Counted:
    """A counted product: packs picked by button from its slots, deliveries scanned in."""

    number: int
    gtin: str
    first_slot: int
    receive_slot: int

    @property
    def scanner(self) -> str:
        return f"desk{self.number}"

    def scan_code(self) -> str:
        """The GS1 element string of one delivered pack."""
        yymmdd = DELIVERED_EXPIRY[2:].replace("-", "")
        return f"01{self.gtin}17{yymmdd}10D{self.number}{GS}"


@dataclass
class Layout:
    """Shelf A: two counted products on A-01 .. A-04 and tagged packs on A-05 .. A-08, swept
    by the handheld (a sweep covers the whole shelf); shelf B: a slot per fixed reader antenna,
    one tagged product per reader."""

    readers: int
    tagged: list[TaggedPack] = field(default_factory=list)
    counted: list[Counted] = field(default_factory=list)
    swept: dict[int, list[bytes]] = field(default_factory=dict)  # slot number -> packs there

    def __post_init__(self) -> None:
        for reader in range(self.readers):
            for antenna in ANTENNAS:
                for n in range(TAGS_PER_ANTENNA):
                    epc = sgtin96(COMPANY, f"0{40001 + reader}", antenna * 1000 + n)
                    self.tagged.append(TaggedPack(epc, reader, antenna))
        for k in range(2):
            first13 = f"04012345{50001 + k:05d}"
            gtin = first13 + str(gtin_check_digit(first13))
            self.counted.append(Counted(k, gtin, 1 + 2 * k, 2 + 2 * k))
        assert self.counted[-1].receive_slot < SWEPT_SLOTS[0]
        serials = iter(range(1, 1000))
        for number in SWEPT_SLOTS:
            packs = [sgtin96(COMPANY, "060001", next(serials)) for _ in range(PACKS_PER_SWEPT_SLOT)]
            self.swept[number] = packs

    def antenna_slot(self, reader: int, antenna: int) -> int:
        return reader * len(ANTENNAS) + antenna

    def reader_slots(self) -> list[str]:
        return [slot(self.antenna_slot(r, a), "B") for r in range(self.readers) for a in ANTENNAS]

    def tagged_gtin(self, reader: int) -> str:
        return identity(sgtin96(COMPANY, f"0{40001 + reader}", 1)).gtin


def stock_ledger(db: Path, layout: Layout) -> None:
    """What the ledger holds before the daemon starts (the readers' packs it books itself)."""
    keeper = InventoryKeeper(db, {}, SITE, GATEWAY)
    for c in layout.counted:
        keeper.commit(
            [
                Movement(
                    MovementKind.PUT_AWAY,
                    c.gtin,
                    COUNTED_PAR,
                    batch=f"S{c.number}",
                    expiry=COUNTED_EXPIRY,
                    to_slot=slot(c.first_slot),
                )
            ]
        )
    for number, packs in layout.swept.items():
        for epc in packs:
            keeper.put_away(identity(epc), slot(number))
    keeper.close()


def write_config(path: Path, layout: Layout, db: Path, ports: dict[str, Any]) -> Path:
    """The daemon's TOML file. `ports`: broker (URL), metrics (int), readers (list), handheld,
    scanners (list), A and B (the shelf controllers' TCP ports)."""
    text = f"""site = "{SITE}"
gateway = "{GATEWAY}"
database = "{db}"
[broker]
url = "{ports["broker"]}"
[presence]
dwell_seconds = 1.0
[metrics]
listen = "127.0.0.1:{ports["metrics"]}"
"""
    for n, port in enumerate(ports["readers"]):
        text += f'[[readers]]\nname = "r{n}"\nport = "{port}"\n[readers.antennas]\n'
        text += "".join(f'{a} = "{slot(layout.antenna_slot(n, a), "B")}"\n' for a in ANTENNAS)
    text += '[[readers]]\nname = "hh"\nprotocol = "chafon"\nrole = "handheld"\n'
    text += f'port = "{ports["handheld"]}"\n'
    for c, port in zip(layout.counted, ports["scanners"], strict=True):
        text += f'[[scanners]]\nname = "{c.scanner}"\nport = "{port}"\nrole = "receiving"\n'
        text += f'receive_to = "{slot(c.receive_slot)}"\n'
    text += f'[[shelves]]\nname = "A"\nhost = "127.0.0.1"\nport = {ports["A"]}\n'
    text += f'slots = {SHELF_A_SLOTS}\ngln = "{GLN}"\n'
    text += f'[[shelves]]\nname = "B"\nhost = "127.0.0.1"\nport = {ports["B"]}\n'
    text += f'slots = {layout.readers * len(ANTENNAS)}\ngln = "4012345000023"\n'
    packs = TAGS_PER_ANTENNA * len(ANTENNAS)
    for n in range(layout.readers):
        text += f'[[products]]\ngtin = "{layout.tagged_gtin(n)}"\nname = "Tagged {n + 1}"\n'
        text += f"reorder_point = {packs - 3}\npar = {packs}\n"
    for c in layout.counted:
        text += f'[[products]]\ngtin = "{c.gtin}"\nname = "Counted {c.number + 1}"\n'
        text += f"reorder_point = {COUNTED_REORDER}\npar = {COUNTED_PAR}\nrequire_serial = false\n"
        text += f'slots = ["{slot(c.first_slot)}", "{slot(c.receive_slot)}"]\n'
    path.write_text(text)
    return path


# The ledger, read from outside (the daemon writes it) -----------------------------------------


def _query(db: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        return conn.execute(sql, args).fetchall()


def packs_in(db: Path, slots: list[str]) -> int:
    marks = ",".join("?" * len(slots))
    sql = f"SELECT count(*) FROM stock WHERE epc IS NOT NULL AND slot IN ({marks})"
    return int(_query(db, sql, *slots)[0][0])


def on_hand(db: Path, gtin: str) -> int:
    sql = "SELECT coalesce(sum(quantity), 0) FROM stock WHERE gtin = ? AND status = 'available'"
    return int(_query(db, sql, gtin)[0][0])


def picked(db: Path, pick_id: str) -> int:
    sql = "SELECT coalesce(sum(quantity), 0) FROM movements WHERE kind = 'pick' AND reference = ?"
    return int(_query(db, sql, pick_id)[0][0])


def sent_requests(db: Path) -> set[str]:
    """Requests the ledger holds as sent to the centre (all but proposals)."""
    rows = _query(db, "SELECT request_id FROM procurement_requests WHERE status != 'proposed'")
    return {str(r[0]) for r in rows}


def unsent_messages(db: Path) -> int:
    return int(_query(db, "SELECT count(*) FROM outbox WHERE sent_at IS NULL")[0][0])


def live_alarms(db: Path) -> list[str]:
    rows = _query(db, "SELECT id FROM alarms WHERE state != 'cleared' ORDER BY id")
    return [str(r[0]) for r in rows]


def movements(db: Path) -> int:
    return int(_query(db, "SELECT count(*) FROM movements")[0][0])


# Processes ------------------------------------------------------------------------------------


class ReaderFarm:
    """tests.soak.reader_farm as a process, told what to do one line at a time."""

    def __init__(self, process: asyncio.subprocess.Process, ports: list[str]):
        self.process = process
        self.ports = ports
        self._lock = asyncio.Lock()

    @classmethod
    async def start(cls, links: Path, readers: int) -> ReaderFarm:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.soak.reader_farm",
            "--links",
            str(links),
            "--readers",
            str(readers),
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        ready = json.loads(await asyncio.wait_for(process.stdout.readline(), 30))
        return cls(process, list(ready["ports"]))

    async def ask(self, *words: object) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        async with self._lock:
            self.process.stdin.write((" ".join(map(str, words)) + "\n").encode())
            await self.process.stdin.drain()
            answer: dict[str, Any] = json.loads(
                await asyncio.wait_for(self.process.stdout.readline(), 10)
            )
        assert answer.get("ok") is not False or words[0] == "remove", answer
        return answer

    async def place(self, reader: int, antenna: int, epc: bytes) -> None:
        await self.ask("place", reader, antenna, epc.hex())

    async def remove(self, epc: bytes) -> None:
        await self.ask("remove", epc.hex())

    async def stop(self) -> dict[str, Any]:
        if self.process.returncode is not None:
            return {}
        answer = await self.ask("stop")
        await asyncio.wait_for(self.process.wait(), 15)
        return answer

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()


@dataclass(frozen=True, slots=True)
class Sample:
    at: float  # seconds into the soak
    rss_kb: int
    fds: int


class Daemon:
    """`rxedge run --config FILE` as a process, its output in `log`."""

    def __init__(self, config: Path, log: Path):
        self.log = log
        with log.open("a") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "edge.cli.main", "run", "--config", str(config)],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def sample(self, at: float) -> Sample:
        """Its resident memory and open file descriptors now."""
        pid = self.process.pid
        status = Path(f"/proc/{pid}/status").read_text()
        rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
        return Sample(at, rss, len(os.listdir(f"/proc/{pid}/fd")))

    def running(self) -> bool:
        return self.process.poll() is None

    async def stop(self, timeout: float = 30) -> int:
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.to_thread(self.process.wait, timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@dataclass(frozen=True, slots=True)
class Growth:
    """RSS and fds of the first and the last third of the samples after the warm-up."""

    samples: int
    rss_first_kb: float  # medians
    rss_last_kb: float
    fds_first: int  # most open
    fds_last: int

    def problems(self) -> list[str]:
        found = []
        if self.samples < 6:
            found.append(f"only {self.samples} samples after the warm-up; at least 6 needed")
        if self.rss_last_kb > self.rss_first_kb * (1 + RSS_GROWTH):
            found.append(
                f"RSS grew from {self.rss_first_kb / 1024:.1f} MiB to "
                f"{self.rss_last_kb / 1024:.1f} MiB (more than {RSS_GROWTH:.0%})"
            )
        if self.fds_last - self.fds_first >= FD_GROWTH:
            found.append(f"open fds grew from {self.fds_first} to {self.fds_last}")
        return found


def growth(samples: list[Sample], warm_up: float) -> Growth:
    kept = [s for s in samples if s.at >= warm_up]
    third = max(len(kept) // 3, 1)
    first, last = kept[:third], kept[-third:]
    return Growth(
        len(kept),
        statistics.median(s.rss_kb for s in first) if first else 0.0,
        statistics.median(s.rss_kb for s in last) if last else 0.0,
        max((s.fds for s in first), default=0),
        max((s.fds for s in last), default=0),
    )
