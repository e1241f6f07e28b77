"""The pick-to-light rig: a stocked ledger, the daemon, and real peers (mosquitto, a pty R2000
reader on slot A-08, a pty Chafon handheld, a pty GS1 scanner, a Modbus TCP shelf controller);
see tests.edge.shelf_rig."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from drivers.modbus.lights import SlotLight
from drivers.modbus.profile import Colour, Mode
from edge.clock import Clock
from edge.demo.local_broker import LocalBroker
from firmware_sim.chafon_sim import ChafonSimulator
from firmware_sim.scanner_sim import GS, ScannerSimulator
from firmware_sim.tags import sgtin96
from inventory.codes.identifiers import EpcDecoder, PackId
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind, StockStatus
from tests.conftest import Subscriber, eventually
from tests.edge.shelf_rig import Peer, ShelfRig

PREFIX = "rxedge/v1/s1/g1"
AMOX = "04012345123456"
IBU = "04012345000016"
TAGGED = sgtin96("4012345", "000002", 9)  # a paracetamol pack on antenna 1 (slot A-08)
OTHER_PACK = sgtin96("4012345", "000002", 10)  # the same product, its serial first by sorting
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


class Rig(ShelfRig):
    def __init__(self, tmp_path: Path, broker: LocalBroker):
        super().__init__(tmp_path, broker)
        self.handheld = ChafonSimulator(link=tmp_path / "handheld")
        self.scanner = ScannerSimulator(link=tmp_path / "scanner")

    def stock(self) -> None:
        stock(self.db)

    def devices(self) -> Sequence[Peer]:
        return (self.handheld, self.scanner)

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
            # a port of its own: tests side by side would share 127.0.0.1:9464
            "metrics": {"listen": "127.0.0.1:0"},
            **overrides,
        }

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


async def start_rig(
    tmp_path: Path, broker: LocalBroker, clock: Clock | None = None, **overrides: Any
) -> Rig:
    rig = Rig(tmp_path, broker)
    await rig.start(clock, **overrides)
    # The expiry sweep at start quarantines the expired batch: let it land before the test
    # counts movements.
    await eventually(rig.expired_held, what="the expiry sweep at start")
    return rig


async def stop_rig(rig: Rig) -> None:
    await rig.stop()


@asynccontextmanager
async def writer_held(rig: Rig) -> AsyncIterator[None]:
    """The ledger's writer kept busy until the block ends, as by a commit that takes long:
    commands are taken in and wait their turn, and their answers come late."""
    assert rig.gateway is not None
    entered, release = threading.Event(), threading.Event()

    def hold(_keeper: object) -> None:
        entered.set()
        release.wait(30)

    held = asyncio.ensure_future(rig.gateway.ledger.ask(hold))
    try:
        await eventually(entered.is_set, what="the writer to be held")
        yield
    finally:
        release.set()
        await held


async def two_tagged_packs_put_away(rig: Rig) -> None:
    """TAGGED and OTHER_PACK placed on the reader's slot (A-08), and booked there."""
    rig.reader.place(1, TAGGED)
    rig.reader.place(1, OTHER_PACK)
    await eventually(lambda: len(epcs_on_shelf(rig.db)) == 2, what="both packs put away")


def results(centre: Subscriber, command_id: str) -> list[dict[str, object]]:
    return [r for r in centre.payloads("/cmd-result") if r.get("command_id") == command_id]


def statuses(centre: Subscriber, command_id: str) -> list[object]:
    return [r["status"] for r in results(centre, command_id)]


def tagged_pack(hex_epc: str) -> PackId:
    """The pack a tag of the rig names (its pure-identity URI, GTIN and serial)."""
    pack = EpcDecoder().decode(hex_epc)
    assert isinstance(pack, PackId)
    return pack


def picked_epcs(db: Path) -> list[str]:
    """The tagged packs booked picked, in order."""
    with sqlite3.connect(db) as con:
        rows = con.execute(
            "SELECT epc FROM movements WHERE kind = 'pick' AND epc IS NOT NULL ORDER BY id"
        )
        return [str(r[0]) for r in rows]


def epcs_on_shelf(db: Path) -> list[str]:
    """The tagged packs the ledger has on a shelf, sorted."""
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT epc FROM stock WHERE epc IS NOT NULL AND quantity > 0")
        return sorted(str(r[0]) for r in rows)


async def rig_fixture(tmp_path: Path, broker: LocalBroker, **overrides: Any) -> AsyncIterator[Rig]:
    rig = await start_rig(tmp_path, broker, **overrides)
    yield rig
    await stop_rig(rig)
