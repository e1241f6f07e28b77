"""The pick-to-light rig: a stocked ledger, the daemon, and real peers (mosquitto, a pty R2000
reader on slot A-08, a pty Chafon handheld, a pty GS1 scanner, a Modbus TCP shelf controller)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from drivers.modbus.lights import SlotLight
from drivers.modbus.profile import Colour, Mode
from edge.clock import Clock
from edge.daemon.activity import Activity
from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker
from edge.settings.config import parse_config
from firmware_sim.chafon_sim import ChafonSimulator
from firmware_sim.r2000_sim import R2000Simulator
from firmware_sim.scanner_sim import GS, ScannerSimulator
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator
from firmware_sim.tags import sgtin96
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind, StockStatus
from tests.conftest import Subscriber, eventually

PREFIX = "rxedge/v1/s1/g1"
AMOX = "04012345123456"
IBU = "04012345000016"
TAGGED = sgtin96("4012345", "000002", 9)  # a paracetamol pack on antenna 1 (slot A-08)
RED = SlotLight(True, Colour.RED, Mode.FAST_BLINK, 0)


def scan_code(gtin: str, batch: str, expiry: str) -> str:
    return f"01{gtin}17{expiry}10{batch}{GS}"


def stock(db: Path) -> None:
    """What the shelves hold before the daemon starts."""
    keeper = InventoryKeeper(db, {}, "s1", "g1")

    def put(slot: str, gtin: str, batch: str, expiry: str, qty: int) -> None:
        keeper.commit(
            [Movement(MovementKind.PUT_AWAY, gtin, qty, batch=batch, expiry=expiry, to_slot=slot)]
        )

    put("A-01", AMOX, "LATE", "2030-12-31", 3)
    put("A-02", AMOX, "EARLY", "2029-01-31", 1)
    put("A-03", AMOX, "OLD", "2020-10-31", 5)  # expired
    put("A-04", AMOX, "HELD", "2030-02-28", 2)
    keeper.commit(
        [
            Movement(
                MovementKind.QUARANTINE,
                AMOX,
                2,
                batch="HELD",
                expiry="2030-02-28",
                from_slot="A-04",
                to_slot="A-04",
                to_status=StockStatus.QUARANTINED,
            )
        ]
    )
    put("A-05", AMOX, "BAD", "2030-03-31", 2)
    keeper.picks.recall(AMOX, "BAD", "supplier notice")
    put("A-06", IBU, "I1", "2030-01-31", 4)
    put("A-07", IBU, "I2", "2030-05-31", 4)
    keeper.close()


class Rig:
    def __init__(self, tmp_path: Path, broker: LocalBroker):
        self.reader = R2000Simulator(link=tmp_path / "reader")
        self.handheld = ChafonSimulator(link=tmp_path / "handheld")
        self.scanner = ScannerSimulator(link=tmp_path / "scanner")
        self.shelf = ShelfControllerSimulator(slots=8)
        self.db = tmp_path / "ledger.sqlite"
        self.broker = broker
        self.activity: list[Activity] = []
        self.gateway: Gateway | None = None
        self.task: asyncio.Task[None]

    def config(self, **overrides: Any) -> dict[str, object]:
        return {
            "site": "s1",
            "gateway": "g1",
            "database": str(self.db),
            "broker": {"url": self.broker.url},
            "presence": {"dwell_seconds": 0.5},
            "picking": {"remind_after_seconds": 30, "timeout_seconds": 60, "mistake_seconds": 30},
            "readers": [
                {"name": "r1", "port": self.reader.port, "antennas": {"1": "A-08"}},
                {
                    "name": "hh",
                    "protocol": "chafon",
                    "role": "handheld",
                    "port": self.handheld.port,
                },
            ],
            "scanners": [{"name": "desk", "port": self.scanner.port}],
            "shelves": [
                {
                    "name": "A",
                    "host": "127.0.0.1",
                    "port": self.shelf.port,
                    "slots": 8,
                    "gln": "4012345000016",
                }
            ],
            "products": [  # counted packs: their codes carry no serial
                {"gtin": g, "name": n, "reorder_point": 1, "par": 8, "require_serial": False}
                for g, n in ((AMOX, "Amoxicillin 500 mg"), (IBU, "Ibuprofen 400 mg"))
            ],
            **overrides,
        }

    async def light(self, slot: str) -> SlotLight:
        return await self.shelf.light(int(slot.split("-")[1]) - 1)

    async def shows(self, slot: str, light: SlotLight) -> bool:
        return await self.light(slot) == light

    def picks(self) -> list[tuple[str, str, str]]:
        with sqlite3.connect(self.db) as db:
            rows = db.execute(
                "SELECT from_slot, batch, reference FROM movements WHERE kind = 'pick' ORDER BY id"
            )
            return [tuple(r) for r in rows]

    def expired_held(self) -> bool:
        with sqlite3.connect(self.db) as db:
            row = db.execute(
                "SELECT count(*) FROM movements WHERE kind = 'quarantine' AND batch = 'OLD'"
            ).fetchone()
            return bool(row[0])

    def movement_count(self) -> int:
        with sqlite3.connect(self.db) as db:
            return int(db.execute("SELECT count(*) FROM movements").fetchone()[0])


async def start_rig(
    tmp_path: Path, broker: LocalBroker, clock: Clock | None = None, **overrides: Any
) -> Rig:
    rig = Rig(tmp_path, broker)
    if not rig.db.exists():  # a second start in the same directory keeps its ledger
        stock(rig.db)
    for peer in (rig.reader, rig.handheld, rig.scanner, rig.shelf):
        await peer.start()
    config = parse_config(rig.config(**overrides))
    rig.gateway = Gateway(config, observer=rig.activity.append, clock=clock)
    rig.task = asyncio.create_task(rig.gateway.run())
    await eventually(rig.gateway.ready.is_set)
    # The expiry sweep at start quarantines the expired batch: let it land before the test
    # counts movements.
    await eventually(rig.expired_held, what="the expiry sweep at start")
    return rig


async def stop_rig(rig: Rig) -> None:
    assert rig.gateway is not None
    rig.gateway.stop()
    await asyncio.wait_for(rig.task, 10)
    for peer in (rig.reader, rig.handheld, rig.scanner, rig.shelf):
        await peer.stop()


def results(centre: Subscriber, command_id: str) -> list[dict[str, object]]:
    return [r for r in centre.payloads("/cmd-result") if r.get("command_id") == command_id]


def statuses(centre: Subscriber, command_id: str) -> list[object]:
    return [r["status"] for r in results(centre, command_id)]


async def rig_fixture(tmp_path: Path, broker: LocalBroker, **overrides: Any) -> AsyncIterator[Rig]:
    rig = await start_rig(tmp_path, broker, **overrides)
    yield rig
    await stop_rig(rig)
