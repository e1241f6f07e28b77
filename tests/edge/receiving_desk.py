"""A receiving desk on a gateway whose ledger lies on a small disk: a fixed reader, a shelf
controller of four slots and a receiving scanner booking packs into A-02, as real peers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edge.demo.local_broker import LocalBroker
from edge.settings.config import GatewayConfig, parse_config
from firmware_sim.r2000_sim import R2000Simulator
from firmware_sim.scanner_sim import ScannerSimulator
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator

GTIN = "04012345123456"
PRODUCT = {"gtin": GTIN, "name": "Amoxicillin 500 mg", "reorder_point": 1, "par": 5}


def gateway_config(
    db: Path, broker: LocalBroker, reader: str, shelf: int, **more: object
) -> GatewayConfig:
    """A gateway of one fixed reader (antenna 1 at A-01) and a shelf of four slots."""
    return parse_config(
        {
            "site": "s1",
            "gateway": "g1",
            "database": str(db),
            "create_database": True,
            "broker": {"url": broker.url},
            "presence": {"dwell_seconds": 0.5},
            "readers": [{"name": "r1", "port": reader, "antennas": {"1": "A-01"}}],
            "shelves": [{"name": "A", "host": "127.0.0.1", "port": shelf, "slots": 4}],
            **more,
        }
    )


@dataclass
class ReceivingDesk:
    reader: R2000Simulator
    shelf: ShelfControllerSimulator
    scanner: ScannerSimulator
    config: GatewayConfig

    async def stop(self) -> None:
        for peer in (self.reader, self.shelf, self.scanner):
            await peer.stop()


async def receiving_desk(
    tmp_path: Path, db: Path, broker: LocalBroker, **more: object
) -> ReceivingDesk:
    """The peers started and the gateway's configuration (`more`: other sections)."""
    reader = R2000Simulator(link=tmp_path / "reader")
    shelf = ShelfControllerSimulator(slots=4)
    scanner = ScannerSimulator(link=tmp_path / "desk")
    for peer in (reader, shelf, scanner):
        await peer.start()
    desk = {"name": "desk", "port": scanner.port, "role": "receiving", "receive_to": "A-02"}
    config = gateway_config(
        db, broker, reader.port, shelf.port, scanners=[desk], products=[PRODUCT], **more
    )
    return ReceivingDesk(reader, shelf, scanner, config)
