"""The put-to-light rig: a ledger with an open procurement request, the daemon, and real peers
(mosquitto, two pty GS1 scanners with role putaway, a pty R2000 reader whose antennas 1 and 2
watch A-03 and A-04, a Modbus TCP shelf controller with 8 slots); see tests.edge.shelf_rig."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from drivers.modbus.lights import SlotLight
from drivers.modbus.profile import Colour, Mode
from edge.demo.local_broker import LocalBroker
from firmware_sim.scanner_sim import GS, ScannerSimulator
from firmware_sim.tags import sgtin96
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from inventory.replenishment.policy import Product
from tests.edge.shelf_rig import Peer, ShelfRig

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
    on the shelf (serial S1) and a recalled batch; paracetamol and ibuprofen above theirs, two
    packs each in the back room (R-01, on no shelf): their home slots start empty, and the
    gateway's start finds nothing short to light or ask for."""
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
    for gtin in (PARA, IBU):
        keeper.commit(
            [
                Movement(
                    MovementKind.PUT_AWAY, gtin, 2, batch="R0", expiry="2031-01-31", to_slot="R-01"
                )
            ]
        )
    keeper.close()


class PutawayRig(ShelfRig):
    def __init__(self, tmp_path: Path, broker: LocalBroker):
        super().__init__(tmp_path, broker)
        self.scanner = ScannerSimulator(link=tmp_path / "goods-in")
        self.scanner_2 = ScannerSimulator(link=tmp_path / "desk-2")

    def stock(self) -> None:
        stock(self.db)

    def devices(self) -> Sequence[Peer]:
        return (self.scanner, self.scanner_2)

    def config(self, **overrides: Any) -> dict[str, object]:
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
            # a port of its own: tests side by side would share 127.0.0.1:9464
            "metrics": {"listen": "127.0.0.1:0"},
            **overrides,
        }

    def receipts(self) -> list[tuple[str, str, str, str, str]]:
        """(slot, gtin, batch, serial, reference) of every pack put away, in order."""
        with sqlite3.connect(self.db) as db:
            rows = db.execute(
                "SELECT to_slot, gtin, batch, serial, reference FROM movements"
                " WHERE kind = 'receive' ORDER BY id"
            )
            return [tuple(r) for r in rows]

    def request(self) -> tuple[str, str, int]:
        with sqlite3.connect(self.db) as db:
            row = db.execute("SELECT request_id, status, received FROM procurement_requests")
            return tuple(row.fetchone())  # type: ignore[return-value]


async def start_putaway_rig(tmp_path: Path, broker: LocalBroker) -> PutawayRig:
    rig = PutawayRig(tmp_path, broker)
    await rig.start()
    return rig


async def stop_putaway_rig(rig: PutawayRig) -> None:
    await rig.stop()
