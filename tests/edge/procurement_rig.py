"""The procurement rig: products that run short on cue, a ledger read from outside, the gateway
in-process, and the clerk's `rxedge procurement watch` run as a process."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from edge.daemon.gateway import Gateway
from edge.settings.config import parse_config
from inventory.changes import Change
from inventory.codes.gtin import gtin_check_digit
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from tests.conftest import eventually, subscribed

ROOT = Path(__file__).resolve().parents[2]
RXEDGE = [sys.executable, "-m", "edge.cli.main"]
SITE, GATEWAY = "s1", "g1"
PREFIX = f"rxedge/v1/{SITE}/{GATEWAY}"
BATCH, EXPIRY = "B1", "2030-12-31"
ON_SHELF = 3  # each product's stock, one above its reorder point: one pack taken makes it short


def gtin_of(item: int) -> str:
    first13 = f"04012345{item:05d}"
    return first13 + str(gtin_check_digit(first13))


def slot_of(gtin: str) -> str:
    return f"S-{gtin[8:13]}"


def products(auto: int, ask: int = 0) -> list[dict[str, Any]]:
    """`auto` products whose requests go out at once and `ask` ones a pharmacist confirms."""
    return [
        {
            "gtin": gtin_of(20001 + n),
            "name": f"Product {n + 1}",
            "reorder_point": ON_SHELF - 1,
            "par": ON_SHELF,
            "auto_confirm": n < auto,
        }
        for n in range(auto + ask)
    ]


def stock(db: Path, wanted: list[dict[str, Any]]) -> None:
    """What the shelves hold before the daemon starts: ON_SHELF packs of each product."""
    keeper = InventoryKeeper(db, {}, SITE, GATEWAY)
    for product in wanted:
        keeper.commit([put_back(product["gtin"], ON_SHELF)])
    keeper.close()


def take_one(gtin: str) -> Movement:
    return Movement(MovementKind.PICK, gtin, 1, batch=BATCH, expiry=EXPIRY, from_slot=slot_of(gtin))


def put_back(gtin: str, quantity: int = 1) -> Movement:
    """Packs booked in: a delivery closes the product's open request."""
    return Movement(
        MovementKind.PUT_AWAY, gtin, quantity, batch=BATCH, expiry=EXPIRY, to_slot=slot_of(gtin)
    )


def config(db: Path, broker_url: str, wanted: list[dict[str, Any]]) -> dict[str, object]:
    return {
        "site": SITE,
        "gateway": GATEWAY,
        "database": str(db),
        "create_database": True,
        "broker": {"url": broker_url},
        "products": wanted,
    }


def requests(db: Path) -> dict[str, str]:
    """request_id -> status, as the ledger file has them."""
    if not db.exists():
        return {}
    with sqlite3.connect(db) as conn:
        try:
            rows = conn.execute("SELECT request_id, status FROM procurement_requests").fetchall()
        except sqlite3.OperationalError:
            return {}  # schema not created yet
    return {str(r[0]): str(r[1]) for r in rows}


def sent_ids(db: Path) -> set[str]:
    """Requests the ledger holds as sent to the centre (every one but proposals)."""
    return {rid for rid, status in requests(db).items() if status != "proposed"}


def proposals(db: Path) -> list[str]:
    return [rid for rid, status in requests(db).items() if status == "proposed"]


def unsent_requests(db: Path) -> int:
    """Request messages the outbox holds and the broker has not acknowledged."""
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT count(*) FROM outbox WHERE kind = 'procurement_request' AND sent_at IS NULL"
        ).fetchone()
    return int(row[0])


async def start_gateway(settings: dict[str, object]) -> tuple[Gateway, asyncio.Task[None]]:
    gateway = Gateway(parse_config(settings))
    task = asyncio.create_task(gateway.run())
    await eventually(gateway.ready.is_set, what="gateway ready")
    await subscribed(gateway)
    return gateway, task


async def one_request(
    broker_url: str, tmp_path: Path
) -> tuple[Path, dict[str, object], Gateway, asyncio.Task[None], str]:
    """The gateway in-process with one product that ran short: its ledger, its settings, the
    gateway still running, and the id of the request it raised."""
    from inventory.changes import Book

    wanted = products(auto=1)
    db = tmp_path / "ledger.sqlite"
    stock(db, wanted)
    settings = config(db, broker_url, wanted)
    gateway, task = await start_gateway(settings)
    change(gateway, Book((take_one(wanted[0]["gtin"]),)))
    (rid,) = await eventually(lambda: list(requests(db)), what="the request raised")
    return db, settings, gateway, task, rid


async def stop_gateway(gateway: Gateway, task: asyncio.Task[None]) -> None:
    gateway.stop()
    await asyncio.wait_for(task, 15)


def change(gateway: Gateway, change: Change) -> None:
    """A change through the gateway's queue of changes, as a device event would be."""
    gateway.ledger.offer(change)


def request_message(site: str = SITE, gateway: str = GATEWAY, n: int = 1) -> dict[str, Any]:
    """A request as a gateway sends it (the contract's shape), for `n` (1 or more) packs of
    product `n`."""
    return {
        "request_id": str(uuid.uuid4()),
        "created_at": "2026-11-26T09:00:00.000Z",
        "site": site,
        "gateway": gateway,
        "gtin": gtin_of(20000 + n),
        "name": f"Product {n}",
        "batch_hint": None,
        "quantity": n,
        "unit": "pack",
        "priority": "routine",
        "reason": {"on_hand": 2, "on_order": 0, "reorder_point": 2, "par": 2 + n},
        "confirmed_by": "auto",
    }


class CliRun:
    """One `rxedge ...` process, its output read line by line as it comes."""

    def __init__(self, process: asyncio.subprocess.Process):
        self.process = process
        self.lines: list[str] = []
        self.errors: list[str] = []
        assert process.stdout is not None and process.stderr is not None
        self._readers = [
            asyncio.create_task(_collect(process.stdout, self.lines)),
            asyncio.create_task(_collect(process.stderr, self.errors)),
        ]

    @classmethod
    async def start(
        cls, *args: str, sigint_ignored: bool = False, program: Sequence[str] = RXEDGE
    ) -> CliRun:
        """The command started; `sigint_ignored`: with SIGINT ignored, as a shell script starts
        its background jobs (Python then makes no KeyboardInterrupt of it); `program`: what
        runs it (`rxedge` itself, or a test's variant of it)."""
        process = await asyncio.create_subprocess_exec(
            *program,
            *args,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            preexec_fn=_ignore_sigint if sigint_ignored else None,
        )
        return cls(process)

    def json_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines if line.startswith("{")]

    async def watching(self) -> None:
        """Wait until a watch says it is subscribed (safe to publish from then on)."""
        await eventually(
            lambda: any("watching" in e for e in self.errors) or self.process.returncode,
            timeout=20,
            what="the watch to subscribe",
        )
        assert self.process.returncode is None, "\n".join(self.errors)

    async def finish(self, timeout: float = 30) -> int:
        """Wait for the process to end by itself; its exit code."""
        code = await asyncio.wait_for(self.process.wait(), timeout)
        await asyncio.gather(*self._readers)
        return code

    async def interrupt(self) -> int:
        """Ctrl-C, as a clerk ends the watch."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
        return await self.finish()

    async def kill(self) -> None:
        """SIGKILL: no chance to finish anything."""
        if self.process.returncode is None:
            self.process.kill()
        await self.finish()


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


async def _collect(stream: asyncio.StreamReader, into: list[str]) -> None:
    async for raw in stream:
        into.append(raw.decode().rstrip("\n"))


HOLD = 1.0  # seconds the link holds before requests are looked at (the daemon's 10 s)
QUIET = 0.5  # seconds the intake is quiet on top of it (the daemon's 3 s)


def looking_every(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """The gateway looks for requests to send again every `seconds` (the daemon's 60 s), once
    its link has held HOLD and its intake been quiet QUIET: a test's minutes, not an hour's."""
    monkeypatch.setattr("edge.daemon.gateway.RESEND_CHECK_SECONDS", seconds)
    monkeypatch.setattr("sync.broker_refusal.HOLD_SECONDS", HOLD)
    monkeypatch.setattr("edge.inbound.settled_link.QUIET_SECONDS", QUIET)
