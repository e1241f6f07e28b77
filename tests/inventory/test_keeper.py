"""The inventory keeper: movements, stock, shortage alarms and procurement requests, each change
written in one transaction with its outbox messages."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from inventory.alarms.lifecycle import AlarmKind, AlarmState
from inventory.apply import apply
from inventory.changes import Book, Recall, RememberCommand
from inventory.codes.identifiers import PackId
from inventory.errors import StockError
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import GENESIS_HASH, Movement, MovementKind, chain_hash
from inventory.replenishment.policy import Product
from inventory.site_calendar import SiteCalendar

OTHER_GTIN = "05012345678900"  # a product without a reorder policy
AMOX = Product("04012345123456", "Amoxicillin 500 mg", reorder_point=2, par=6, home_slots=("A-01",))


def pack(serial: int, gtin: str = AMOX.gtin) -> PackId:
    return PackId(f"urn:epc:id:sgtin:4012345.012345.{serial}", gtin, str(serial))


def clock() -> datetime:
    return datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.sqlite"


def keeper_at(path: Path) -> InventoryKeeper:
    return InventoryKeeper(path, {AMOX.gtin: AMOX}, "site-1", "gw-1", SiteCalendar(UTC, clock))


def stocked(path: Path, packs: int) -> InventoryKeeper:
    keeper = keeper_at(path)
    for serial in range(1, packs + 1):
        keeper.put_away(pack(serial), "A-01")
    return keeper


def outbox(path: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT kind, key, payload FROM outbox ORDER BY id").fetchall()


def test_put_away_and_take_follow_stock(db_path: Path) -> None:
    keeper = stocked(db_path, 4)
    assert keeper.on_hand(AMOX.gtin) == 4
    assert keeper.index.slot_of(pack(2).epc) == "A-01"
    keeper.take(pack(2).epc)
    assert keeper.on_hand(AMOX.gtin) == 3
    assert keeper.index.slot_of(pack(2).epc) is None
    with sqlite3.connect(db_path) as db:
        kinds = [r[0] for r in db.execute("SELECT kind FROM movements ORDER BY id")]
    assert kinds == ["put_away"] * 4 + ["pick"]


def test_putting_packs_away_raises_no_shortage(db_path: Path) -> None:
    keeper = stocked(db_path, 2)  # at the reorder point, but rising
    assert keeper.alarms.live() == []
    assert outbox(db_path) == []


def test_falling_to_the_reorder_point_raises_alarm_and_request_with_the_movement(
    db_path: Path,
) -> None:
    keeper = stocked(db_path, 4)
    keeper.take(pack(1).epc)
    assert outbox(db_path) == []
    commit = keeper.take(pack(2).epc)  # on hand 2 = reorder point
    assert [a.kind for a in commit.alarms] == [AlarmKind.SHORTAGE]
    (request,) = commit.requests
    assert request.quantity == AMOX.par - 2
    rows = outbox(db_path)
    assert [r[0] for r in rows] == ["alarm", "procurement_request"]
    body = json.loads(rows[1][2])
    assert body["gtin"] == AMOX.gtin and body["quantity"] == 4
    assert body["reason"] == {"on_hand": 2, "on_order": 0, "reorder_point": 2, "par": 6}
    assert body["priority"] == "routine" and body["confirmed_by"] == "auto"
    # The movement, the alarm, the request and both messages share one commit time.
    with sqlite3.connect(db_path) as db:
        last_movement = db.execute("SELECT at FROM movements ORDER BY id DESC").fetchone()[0]
        alarm_at = db.execute("SELECT raised_at FROM alarms").fetchone()[0]
    assert last_movement == alarm_at


def test_no_second_request_while_one_is_on_order(db_path: Path) -> None:
    keeper = stocked(db_path, 4)
    for serial in (1, 2, 3):
        keeper.take(pack(serial).epc)
    kinds = [r[0] for r in outbox(db_path)]
    assert kinds.count("procurement_request") == 1
    assert keeper.orders.on_order(AMOX.gtin) == 4


def test_stock_out_makes_the_request_urgent(db_path: Path) -> None:
    keeper = stocked(db_path, 1)
    (request,) = keeper.take(pack(1).epc).requests
    assert request.priority == "urgent" and request.quantity == AMOX.par


def test_restocking_above_the_reorder_point_clears_the_alarm(db_path: Path) -> None:
    keeper = stocked(db_path, 3)
    keeper.take(pack(1).epc)
    assert [a.state for a in keeper.alarms.live()] == [AlarmState.RAISED]
    commit = keeper.put_away(pack(10), "A-01")
    assert [a.state for a in commit.alarms] == [AlarmState.CLEARED]
    assert keeper.alarms.live() == []
    kind, key, payload = outbox(db_path)[-1]
    assert (kind, key, payload) == ("alarm", f"shortage-{AMOX.gtin}", "")


def test_taking_a_pack_that_is_not_there_is_refused_and_writes_nothing(db_path: Path) -> None:
    keeper = stocked(db_path, 1)
    with sqlite3.connect(db_path) as db:
        before = db.execute("SELECT count(*) FROM movements").fetchone()[0]
    with pytest.raises(StockError, match="not on any shelf"):
        keeper.take(pack(99).epc)
    bad = Movement(MovementKind.PICK, AMOX.gtin, quantity=5, batch="B1", from_slot="A-01")
    with pytest.raises(StockError, match="negative"):
        keeper.commit([bad])
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT count(*) FROM movements").fetchone()[0] == before
    assert keeper.on_hand(AMOX.gtin) == 1


def test_the_same_tag_cannot_be_in_two_slots(db_path: Path) -> None:
    keeper = stocked(db_path, 1)
    with pytest.raises(StockError):
        keeper.put_away(pack(1), "A-02")
    assert keeper.index.slot_of(pack(1).epc) == "A-01"


def test_move_changes_slot_not_on_hand(db_path: Path) -> None:
    keeper = stocked(db_path, 3)
    commit = keeper.move(pack(1).epc, "A-02")
    assert commit.alarms == () and commit.requests == ()
    assert keeper.index.slot_of(pack(1).epc) == "A-02"
    assert keeper.on_hand(AMOX.gtin) == 3


def test_state_survives_a_restart(db_path: Path) -> None:
    keeper = stocked(db_path, 4)
    keeper.take(pack(1).epc)
    keeper.take(pack(2).epc)
    lines = sorted(keeper.index.lines(), key=lambda line: line.serial)
    keeper.close()
    again = keeper_at(db_path)
    assert sorted(again.index.lines(), key=lambda line: line.serial) == lines
    assert again.orders.on_order(AMOX.gtin) == 4
    assert [a.kind for a in again.alarms.live()] == [AlarmKind.SHORTAGE]
    # Still on order after the restart: no new request for the next pick.
    assert again.take(pack(3).epc).requests == ()


def test_a_line_emptied_and_refilled_in_one_group_is_stored_as_refilled(db_path: Path) -> None:
    keeper = keeper_at(db_path)
    keeper.commit([Movement(MovementKind.RECEIVE, OTHER_GTIN, 1, batch="B", to_slot="A-01")])
    with keeper.group():  # the pack picked, and a pack of its batch booked in with its expiry
        keeper.commit([Movement(MovementKind.PICK, OTHER_GTIN, 1, batch="B", from_slot="A-01")])
        keeper.commit(
            [
                Movement(
                    MovementKind.RECEIVE,
                    OTHER_GTIN,
                    1,
                    batch="B",
                    expiry="2026-01-31",
                    to_slot="A-01",
                )
            ]
        )
    [indexed] = keeper.index.lines()
    keeper.close()
    keeper = keeper_at(db_path)
    assert keeper.index.lines() == [indexed] and indexed.expiry == "2026-01-31"


def test_a_command_is_remembered_exactly_when_it_was_carried_out(db_path: Path) -> None:
    keeper = keeper_at(db_path)
    later = "2026-11-26T10:00:00.000Z"
    recall = Recall(AMOX.gtin, "B7", "supplier notice", "QA")
    apply(keeper, RememberCommand("m-1", "recall", later, then=recall))
    impossible = Movement(MovementKind.PICK, AMOX.gtin, 1, batch="B9", from_slot="A-01")
    with pytest.raises(StockError):
        apply(keeper, RememberCommand("m-2", "book", later, then=Book((impossible,))))
    seen = [r[0] for r in keeper.db.execute("SELECT message_id FROM commands_seen")]
    recalled = keeper.db.execute("SELECT gtin, batch FROM recalls").fetchall()
    assert seen == ["m-1"] and [tuple(r) for r in recalled] == [(AMOX.gtin, "B7")]


def test_a_command_id_is_remembered_for_a_week_past_its_expiry(db_path: Path) -> None:
    """A copy the broker hands over after the command expired is still known as one."""
    keeper = keeper_at(db_path)  # its clock: 2026-11-26 09:00 UTC
    apply(keeper, RememberCommand("week-old", "locate", "2026-11-19T08:59:59.000Z"))
    apply(keeper, RememberCommand("hour-old", "locate", "2026-11-26T08:00:00.000Z"))
    apply(keeper, RememberCommand("new", "locate", "2026-11-26T09:05:00.000Z"))
    assert set(keeper.commands.remembered(keeper.stamp())) == {"hour-old", "new"}
    kept = [r[0] for r in keeper.db.execute("SELECT message_id FROM commands_seen")]
    assert sorted(kept) == ["hour-old", "new"], "the one expired over a week ago forgotten"


def test_movements_form_a_hash_chain(db_path: Path) -> None:
    keeper = stocked(db_path, 2)
    keeper.take(pack(1).epc)
    keeper.close()
    with sqlite3.connect(db_path) as db:
        rows = db.execute(
            "SELECT at, kind, gtin, serial, epc, batch, expiry, quantity, from_slot, to_slot,"
            " actor, reason, reference, prev_hash, hash FROM movements ORDER BY id"
        ).fetchall()
    prev = GENESIS_HASH
    for row in rows:
        movement = Movement(
            MovementKind(row[1]),
            row[2],
            row[7],
            row[3],
            row[4],
            row[5],
            row[6],
            row[8],
            row[9],
            row[10],
            row[11],
            row[12],
        )
        assert row[13] == prev
        assert row[14] == chain_hash(prev, row[0], movement)
        prev = row[14]
