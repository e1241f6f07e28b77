"""The put-to-light rig: a ledger with an open procurement request, the daemon, and real peers
(mosquitto, two pty GS1 scanners with role putaway, a pty R2000 reader whose antennas 1 and 2
watch A-03 and A-04, a Modbus TCP shelf controller with 8 slots)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import date, timedelta
from pathlib import Path

from drivers.modbus.lights import SlotLight
from drivers.modbus.profile import Colour, Mode
from edge.daemon.activity import Activity
from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker
from edge.settings.config import parse_config
from firmware_sim.r2000_sim import R2000Simulator
from firmware_sim.scanner_sim import GS, ScannerSimulator
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator
from firmware_sim.tags import sgtin96
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from inventory.replenishment.policy import Product
from tests.conftest import eventually

PREFIX = "rxedge/v1/s1/g1"
AMOX = "04012345123456"  # home A-01, 4 packs a slot, 90 days of shelf life at least
PARA = "04012345000023"  # tagged packs (4012345.000002.n), home A-03 on the reader's antenna
IBU = "04012345000016"  # home A-05
STATION, STATION_2 = "A-08", "A-07"  # the two receiving stations' slots
RED = SlotLight(True, Colour.RED, Mode.FAST_BLINK, 0)


def lit(colour: Colour, number: int) -> SlotLight:
    return SlotLight(True, colour, Mode.STEADY, number)


def code(gtin: str, batch: str, days: int, serial: str = "") -> str:
    """A pack's DataMatrix, expiring `days` from today."""
    expiry = date.today() + timedelta(days=days)
    return f"01{gtin}17{expiry:%y%m%d}10{batch}{GS}" + (f"21{serial}" if serial else "")


def para_tag(serial: int) -> bytes:
    return sgtin96("4012345", "000002", serial)


PRODUCTS = [
    {
        "gtin": AMOX,
        "name": "Amoxicillin 500 mg",
        "reorder_point": 1,
        "par": 4,
        "slots": ["A-01"],
        "slot_capacity": 4,
        "min_shelf_life_days": 90,
        "require_serial": False,  # counted packs, and serialized ones
    },
    {"gtin": PARA, "name": "Paracetamol 500 mg", "reorder_point": 1, "par": 6, "slots": ["A-03"]},
    {
        "gtin": IBU,
        "name": "Ibuprofen 400 mg",
        "reorder_point": 1,
        "par": 6,
        "slots": ["A-05"],
        "require_serial": False,
    },
]


def stock(db: Path) -> None:
    """Amoxicillin at its reorder point (so a request for 3 is open), a serialized pack of it
    on the shelf (serial S1) and a recalled batch."""
    products = {
        p.gtin: p for p in (Product(AMOX, "Amoxicillin 500 mg", 1, 4, home_slots=("A-01",)),)
    }
    keeper = InventoryKeeper(db, products, "s1", "g1")
    keeper.commit(
        [Movement(MovementKind.PUT_AWAY, AMOX, 2, batch="B0", expiry="2031-01-31", to_slot="A-01")]
    )
    keeper.commit(
        [
            Movement(
                MovementKind.PUT_AWAY,
                AMOX,
                1,
                "S1",
                batch="B0",
                expiry="2031-01-31",
                to_slot="A-01",
            )
        ]
    )
    keeper.commit([Movement(MovementKind.PICK, AMOX, 2, batch="B0", from_slot="A-01")])
    keeper.picks.recall(AMOX, "BAD", "supplier notice")
    keeper.close()


class PutawayRig:
    def __init__(self, tmp_path: Path, broker: LocalBroker):
        self.reader = R2000Simulator(link=tmp_path / "reader")
        self.scanner = ScannerSimulator(link=tmp_path / "goods-in")
        self.scanner_2 = ScannerSimulator(link=tmp_path / "desk-2")
        self.shelf = ShelfControllerSimulator(slots=8)
        self.db = tmp_path / "ledger.sqlite"
        self.broker = broker
        self.activity: list[Activity] = []
        self.gateway: Gateway | None = None
        self.task: asyncio.Task[None]

    def config(self) -> dict[str, object]:
        return {
            "site": "s1",
            "gateway": "g1",
            "database": str(self.db),
            "broker": {"url": self.broker.url},
            "presence": {"dwell_seconds": 0.5},
            "picking": {"remind_after_seconds": 60, "timeout_seconds": 120, "mistake_seconds": 30},
            "readers": [
                {"name": "r1", "port": self.reader.port, "antennas": {"1": "A-03", "2": "A-04"}}
            ],
            "scanners": [
                {
                    "name": "goods-in",
                    "port": self.scanner.port,
                    "role": "putaway",
                    "receive_to": STATION,
                },
                {
                    "name": "desk-2",
                    "port": self.scanner_2.port,
                    "role": "putaway",
                    "receive_to": STATION_2,
                },
            ],
            "shelves": [{"name": "A", "host": "127.0.0.1", "port": self.shelf.port, "slots": 8}],
            "products": PRODUCTS,
        }

    async def light(self, slot: str) -> SlotLight:
        return await self.shelf.light(int(slot.split("-")[1]) - 1)

    async def shows(self, slot: str, light: SlotLight) -> bool:
        return await self.light(slot) == light

    async def press(self, slot: str, times: int = 1) -> None:
        await self.shelf.press(int(slot.split("-")[1]) - 1, times=times)

    def receipts(self) -> list[tuple[str, str, str, str, str]]:
        """(slot, gtin, batch, serial, reference) of every pack put away, in order."""
        with sqlite3.connect(self.db) as db:
            rows = db.execute(
                "SELECT to_slot, gtin, batch, serial, reference FROM movements"
                " WHERE kind = 'receive' ORDER BY id"
            )
            return [tuple(r) for r in rows]

    def movement_count(self) -> int:
        with sqlite3.connect(self.db) as db:
            return int(db.execute("SELECT count(*) FROM movements").fetchone()[0])

    def request(self) -> tuple[str, str, int]:
        with sqlite3.connect(self.db) as db:
            row = db.execute("SELECT request_id, status, received FROM procurement_requests")
            return tuple(row.fetchone())  # type: ignore[return-value]


async def start_putaway_rig(tmp_path: Path, broker: LocalBroker) -> PutawayRig:
    rig = PutawayRig(tmp_path, broker)
    if not rig.db.exists():  # a second start in the same directory keeps its ledger
        stock(rig.db)
    for peer in (rig.reader, rig.scanner, rig.scanner_2, rig.shelf):
        await peer.start()
    rig.gateway = Gateway(parse_config(rig.config()), observer=rig.activity.append)
    rig.task = asyncio.create_task(rig.gateway.run())
    await eventually(rig.gateway.ready.is_set)
    return rig


async def stop_putaway_rig(rig: PutawayRig) -> None:
    assert rig.gateway is not None
    rig.gateway.stop()
    await asyncio.wait_for(rig.task, 10)
    for peer in (rig.reader, rig.scanner, rig.scanner_2, rig.shelf):
        await peer.stop()
