"""Held packs missed by a reader, written off and seen again: a quarantined tagged pack a
reader misses for a moment books nothing (its alarm keeps its raise time and acknowledgement);
one written off while held comes back held, whatever it was held for; a pack written off by
hand is no longer watched; and an expiry alarm none of whose packs is left clears although
other packs of the batch are."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from edge.lights.light_plan import plan_lights
from inventory.alarms.lifecycle import AlarmKind, batch_subject
from inventory.apply import apply
from inventory.changes import AckAlarm, Arrived, ExpirySweep, Left, PickTick, WriteOff
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind, StockStatus
from inventory.stock.held_packs import LEFT_HELD
from tests.inventory.pick_shelves import AMOX, TIMES, Clock, open_keeper, put, tagged

GONE = f"{AMOX.gtin}/GONE"


@pytest.fixture
def keeper(tmp_path: Path, clock: Clock) -> InventoryKeeper:
    return open_keeper(tmp_path / "l.sqlite", clock)


def shelve(keeper: InventoryKeeper, serial: int, batch: str, expiry: str, **held: object) -> None:
    keeper.commit(
        [
            Movement(
                MovementKind.PUT_AWAY,
                AMOX.gtin,
                serial=str(serial),
                epc=tagged(serial).epc,
                batch=batch,
                expiry=expiry,
                to_slot="B-05",
                **held,  # type: ignore[arg-type]
            )
        ]
    )


def kinds(keeper: InventoryKeeper, epc: str) -> list[str]:
    rows = keeper.db.execute("SELECT kind FROM movements WHERE epc = ? ORDER BY id", (epc,))
    return [str(r[0]) for r in rows]


def test_a_held_pack_a_reader_misses_for_a_moment_books_nothing_and_its_alarm_stays_acked(
    keeper: InventoryKeeper, clock: Clock
) -> None:
    shelve(keeper, 77, "GONE", "2026-11-01")
    apply(keeper, ExpirySweep(30))
    alarm = keeper.alarms.get(AlarmKind.EXPIRED, GONE)
    assert alarm is not None
    apply(keeper, AckAlarm(alarm.id, "Ana"))
    sent = keeper.db.execute("SELECT count(*) FROM outbox WHERE kind = 'alarm'").fetchone()[0]

    apply(keeper, Left(tagged(77).epc, "B-05"))
    clock.advance(TIMES.mistake_seconds - 1)
    apply(keeper, PickTick())
    apply(keeper, Arrived(tagged(77), "B-05"))  # read again in its slot before its time ran out
    clock.advance(TIMES.mistake_seconds)
    out = apply(keeper, PickTick())

    assert out.booked_epcs == [] and kinds(keeper, tagged(77).epc) == ["put_away", "quarantine"]
    after = keeper.alarms.get(AlarmKind.EXPIRED, GONE)
    assert after is not None and (after.raised_at, after.acknowledged_by) == (
        alarm.raised_at,
        "Ana",
    )
    assert (
        keeper.db.execute("SELECT count(*) FROM outbox WHERE kind = 'alarm'").fetchone()[0] == sent
    )
    assert "B-05" in plan_lights(keeper.alarms.live(), keeper.index), "it blinks on, unbroken"


def test_a_pack_written_off_while_held_back_comes_back_held(
    keeper: InventoryKeeper, clock: Clock
) -> None:
    """Refused at delivery (short-dated) and laid on a shelf: neither expired nor recalled."""
    shelve(keeper, 5, "SHORT", "2027-02-20", to_status=StockStatus.QUARANTINED, reason="refused")
    apply(keeper, Left(tagged(5).epc, "B-05"))
    clock.advance(TIMES.mistake_seconds)
    out = apply(keeper, PickTick())
    assert out.booked_epcs == [tagged(5).epc]
    assert kinds(keeper, tagged(5).epc) == ["put_away", "write_off"]

    clock.advance(timedelta(days=31).total_seconds())
    apply(keeper, Arrived(tagged(5), "B-05"))

    line = keeper.line_of_epc(tagged(5).epc)
    assert line is not None and line.status is StockStatus.QUARANTINED
    reason = keeper.db.execute(
        "SELECT reason FROM movements WHERE kind = 'quarantine' ORDER BY id DESC LIMIT 1"
    ).fetchone()[0]
    assert reason == LEFT_HELD


def test_a_tagged_pack_written_off_by_hand_is_no_longer_watched_and_comes_back_held(
    keeper: InventoryKeeper,
) -> None:
    shelve(keeper, 77, "GONE", "2026-11-01")
    apply(keeper, ExpirySweep(30))

    out = apply(keeper, WriteOff(AMOX.gtin, "GONE", "B-05", None, "Ana Ruiz", "destroyed"))

    assert out.booked_epcs == [tagged(77).epc], "the presence tracker forgets it"
    apply(keeper, Arrived(tagged(77), "B-05"))  # it was still there: seen anew, booked back
    line = keeper.line_of_epc(tagged(77).epc)
    assert line is not None and line.status is StockStatus.QUARANTINED


def test_an_expired_alarm_clears_when_its_packs_are_gone_and_others_of_the_batch_are_not(
    keeper: InventoryKeeper,
) -> None:
    """Packs scanned without a batch share one ('') whatever their dates."""
    put(keeper, "A-01", "", "2026-11-01", 2)  # expired
    put(keeper, "A-02", "", "2027-06-30", 3)  # good
    apply(keeper, ExpirySweep(30))
    subject = batch_subject(AMOX.gtin, "")
    assert keeper.alarms.get(AlarmKind.EXPIRED, subject) is not None
    assert "A-01" in plan_lights(keeper.alarms.live(), keeper.index)

    apply(keeper, WriteOff(AMOX.gtin, "", "A-01", None, "Ana Ruiz", "destroyed"))

    assert keeper.alarms.get(AlarmKind.EXPIRED, subject) is None
    assert "A-01" not in plan_lights(keeper.alarms.live(), keeper.index)


def test_a_write_off_by_hand_while_a_pack_taken_is_waited_for_books_that_pack(
    keeper: InventoryKeeper, clock: Clock
) -> None:
    for serial in (71, 72, 73):
        shelve(keeper, serial, "GONE", "2026-11-01")
    apply(keeper, ExpirySweep(30))
    apply(keeper, Left(tagged(73).epc, "B-05"))  # taken off; the page still shows three
    clock.advance(10)
    out = apply(keeper, WriteOff(AMOX.gtin, "GONE", "B-05", 1, "Ana"))
    assert out.booked_epcs == [tagged(73).epc], "the pack a reader saw leave, not another"
    clock.advance(TIMES.mistake_seconds)
    assert apply(keeper, PickTick()).booked_epcs == []
    assert kinds(keeper, tagged(73).epc)[-1] == "write_off"
    assert [kinds(keeper, tagged(s).epc)[-1] for s in (71, 72)] == ["quarantine", "quarantine"]


def test_a_held_pack_whose_write_off_failed_to_commit_is_written_off_when_tried_again(
    keeper: InventoryKeeper, clock: Clock
) -> None:
    shelve(keeper, 77, "GONE", "2026-11-01")
    apply(keeper, ExpirySweep(30))
    apply(keeper, Left(tagged(77).epc, "B-05"))
    clock.advance(TIMES.mistake_seconds + 1)
    flush = keeper.ledger.flush

    def full() -> None:
        flush()
        raise sqlite3.OperationalError("database or disk is full")

    keeper.ledger.flush = full  # type: ignore[method-assign]
    with pytest.raises(sqlite3.OperationalError):
        apply(keeper, PickTick())
    keeper.ledger.flush = flush  # type: ignore[method-assign]
    assert apply(keeper, PickTick()).booked_epcs == [tagged(77).epc]  # the writer's retry
    assert kinds(keeper, tagged(77).epc)[-1] == "write_off"
