"""The layout changed between two runs while the ledger holds stock in slots it no longer has (a
shelf removed, renamed or made smaller): check-config and the daemon's start say so, naming the
slots, and the stock stays booked where it was."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from edge.cli.main import main
from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker
from edge.settings.config import parse_config
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from tests.conftest import eventually

GTIN = "04012345123456"


def ledger_with_stock(path: Path, *slots: str) -> Path:
    """A ledger as a run with shelves A and B left it: two packs in each of `slots`."""
    keeper = InventoryKeeper(path, {}, "s1", "g1")
    keeper.commit([Movement(MovementKind.RECEIVE, GTIN, 2, to_slot=slot) for slot in slots])
    keeper.close()
    return path


def test_check_config_names_the_slots_holding_stock_that_no_shelf_has(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ledger_with_stock(tmp_path / "ledger.sqlite", "A-01", "B-02", "B-03")
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'site = "s1"\ngateway = "g1"\ndatabase = "{db}"\n'
        '[[shelves]]\nname = "A"\nhost = "127.0.0.1"\nslots = 4\n'
    )
    code = main(["check-config", str(config)])
    err = capsys.readouterr().err
    assert code == 0, err  # the file is right: what the ledger holds is a warning
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, err
    assert (
        "shelves: the ledger holds stock in 2 slot(s) no shelf has: B-02 (2), B-03 (2)"
        in (warnings[0])
    )
    assert "renamed" in warnings[0] and "rxedge history B-02" in warnings[0]


async def test_the_daemon_says_at_start_which_slots_hold_stock_that_no_shelf_has(
    tmp_path: Path, broker: LocalBroker, caplog: pytest.LogCaptureFixture
) -> None:
    db = ledger_with_stock(tmp_path / "ledger.sqlite", "A-01", "B-02")
    shelf = ShelfControllerSimulator(slots=4)
    await shelf.start()
    config = {
        "site": "s1",
        "gateway": "g1",
        "database": str(db),
        "broker": {"url": broker.url},
        "shelves": [{"name": "A", "host": "127.0.0.1", "port": shelf.port, "slots": 4}],
    }
    gateway = Gateway(parse_config(config), observer=lambda _activity: None)
    caplog.set_level(logging.WARNING)
    task = asyncio.create_task(gateway.run())
    try:
        await eventually(gateway.ready.is_set)
        said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("the ledger holds stock in 1 slot(s) no shelf has: B-02 (2)" in s for s in said)
        on_hand = await gateway.ledger.ask(lambda keeper: keeper.on_hand(GTIN))
        assert on_hand == 4  # still booked: nothing is taken off the ledger for a layout change
    finally:
        gateway.stop()
        await asyncio.wait_for(task, 10)
        await shelf.stop()
