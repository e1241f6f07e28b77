"""The layout changed between two runs while the ledger holds stock in slots it no longer has (a
shelf removed, renamed or made smaller): check-config and the daemon's start say so, naming the
slots, and the stock stays booked where it was."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from edge.cli.main import main
from edge.daemon.gateway import Gateway
from edge.daemon.ledger_lock import sole_writer
from edge.demo.local_broker import LocalBroker
from edge.settings.config import parse_config
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator
from inventory.codes.identifiers import PackId
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from inventory.picking.lists import PickLine, PickRequest
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
    assert "rxedge ledger move-slot B-02 NEW-SLOT --by NAME" in warnings[0]


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


def test_move_slot_books_a_renamed_shelf_s_stock_into_its_new_slots_with_the_daemon_stopped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ledger_with_stock(tmp_path / "ledger.sqlite", "A-01", "B-02")
    keeper = InventoryKeeper(db, {}, "s1", "g1")
    tagged = PackId("urn:epc:id:sgtin:4012345.012345.77", GTIN, "77")
    keeper.put_away(tagged, "B-02")
    keeper.close()
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'site = "s1"\ngateway = "g1"\ndatabase = "{db}"\n'
        '[[shelves]]\nname = "A"\nhost = "127.0.0.1"\nslots = 4\n'
        '[[shelves]]\nname = "C"\nhost = "127.0.0.2"\nslots = 4\n'
    )
    move = ["ledger", "move-slot", "B-02", "C-02", "--by", "ops", "--config", str(config)]
    keeper = InventoryKeeper(db, {}, "s1", "g1")
    keeper.picks.start(PickRequest("rx-9", (PickLine(GTIN, 5),)))  # sets B-02's packs aside too
    keeper.close()
    assert main(move) == 1
    assert "pick list rx-9 still count on slot B-02" in capsys.readouterr().err
    keeper = InventoryKeeper(db, {}, "s1", "g1")
    keeper.picks.cancel("rx-9", "ops")
    keeper.close()
    with sole_writer(db):  # the daemon running: it holds the ledger
        assert main(move) == 2
    assert "in use by another rxedge daemon" in capsys.readouterr().err
    assert main([*move, "--json"]) == 0
    said = json.loads(capsys.readouterr().out)
    assert said == {"from": "B-02", "to": "C-02", "packs": 3, "lines": 2}
    keeper = InventoryKeeper(db, {}, "s1", "g1")
    try:
        assert sum(line.quantity for line in keeper.index.contents("C-02")) == 3
        assert keeper.index.contents("B-02") == [] and keeper.index.slot_of(tagged.epc) == "C-02"
        assert keeper.on_hand(GTIN) == 5
    finally:
        keeper.close()
    assert main(["check-config", str(config)]) == 0
    assert "no shelf has" not in capsys.readouterr().err
    assert main(move) == 1  # nothing left there
    assert "slot B-02 holds no stock" in capsys.readouterr().err
    assert main([*move[:3], "Z-09", *move[4:]]) == 2
    assert "Z-09 is not a slot of any configured shelf" in capsys.readouterr().err
    assert main(["history", "C-02", "--db", str(db), "--json"]) == 0
    moves = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {(m["kind"], m["actor"]) for m in moves} == {("move", "ops")}
