"""Alarms that follow stock and time: near expiry, expired (quarantined, no longer offered),
stock-out; their lifecycle raised -> acknowledged -> cleared; and how the slots show them."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from drivers.modbus.profile import Colour, Mode
from edge.lights.light_plan import plan_lights
from inventory.alarms.lifecycle import AlarmKind, AlarmState
from inventory.codes.identifiers import PackId
from inventory.errors import UnknownAlarm
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind, StockStatus
from inventory.ledger.verify import verify
from inventory.replenishment.policy import Product
from inventory.site_calendar import SiteCalendar
from inventory.stock.expiry import expiry_sweep
from sync.contract import check_topic

GTIN = "04012345123456"
PRODUCT = Product(GTIN, "Amoxicillin", reorder_point=0, par=4, home_slots=("A-01",))
TODAY = date(2026, 11, 26)


def clock() -> datetime:
    return datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture
def keeper(tmp_path: Path) -> InventoryKeeper:
    k = InventoryKeeper(tmp_path / "l.sqlite", {GTIN: PRODUCT}, "s", "g", SiteCalendar(UTC, clock))
    for slot, batch, expiry in (
        ("A-01", "OLD", "2026-11-20"),
        ("A-02", "SOON", "2026-12-10"),
        ("A-03", "FINE", "2028-01-31"),
    ):
        k.commit(
            [Movement(MovementKind.PUT_AWAY, GTIN, 2, batch=batch, expiry=expiry, to_slot=slot)]
        )
    return k


def kinds(keeper: InventoryKeeper) -> dict[str, AlarmKind]:
    return {a.subject: a.kind for a in keeper.alarms.live()}


def test_the_sweep_quarantines_expired_batches_and_warns_of_near_ones(
    keeper: InventoryKeeper,
) -> None:
    out = expiry_sweep(keeper, TODAY, near_days=30)
    assert kinds(keeper) == {
        f"{GTIN}/OLD": AlarmKind.EXPIRED,
        f"{GTIN}/SOON": AlarmKind.NEAR_EXPIRY,
    }
    assert [line.batch for line in keeper.index.fefo(GTIN, TODAY)] == ["SOON", "FINE"]
    assert keeper.on_hand(GTIN) == 4 and any("quarantined" in n for n in out.notes)
    again = expiry_sweep(keeper, TODAY, near_days=30)
    assert not any(c.movements or c.alarms for c in again.commits), "a second sweep changes nothing"
    lights = plan_lights(keeper.alarms.live(), keeper.index)
    assert (lights["A-01"].colour, lights["A-01"].mode) == (Colour.RED, Mode.SLOW_BLINK)
    assert (lights["A-02"].colour, lights["A-02"].mode) == (Colour.AMBER, Mode.SLOW_BLINK)
    # The expired packs are written off: the alarm ends with them.
    keeper.commit(
        [
            Movement(
                MovementKind.WRITE_OFF,
                GTIN,
                2,
                batch="OLD",
                expiry="2026-11-20",
                from_slot="A-01",
                from_status=keeper.index.contents("A-01")[0].status,
            )
        ]
    )
    assert kinds(keeper) == {f"{GTIN}/SOON": AlarmKind.NEAR_EXPIRY}, "cleared with its packs"
    lights = plan_lights(keeper.alarms.live(), keeper.index)
    assert "A-01" not in lights, "its slot dark at once, not at the next sweep"
    expiry_sweep(keeper, TODAY, near_days=30)
    assert kinds(keeper) == {f"{GTIN}/SOON": AlarmKind.NEAR_EXPIRY}


def test_packs_of_no_batch_are_each_judged_by_their_own_expiry(tmp_path: Path) -> None:
    """Packs scanned without a batch (no AI 10) share the batch '': one of them expired
    quarantines it alone, not the others with weeks left."""
    k = InventoryKeeper(tmp_path / "l.sqlite", {GTIN: PRODUCT}, "s", "g", SiteCalendar(UTC, clock))
    for slot, expiry in (("A-01", "2026-11-20"), ("A-02", "2027-01-10"), ("A-03", "2026-12-10")):
        k.commit([Movement(MovementKind.PUT_AWAY, GTIN, 1, expiry=expiry, to_slot=slot)])
    expiry_sweep(k, TODAY, near_days=30)
    assert [line.slot for line in k.index.fefo(GTIN, TODAY)] == ["A-03", "A-02"]
    expired = k.alarms.get(AlarmKind.EXPIRED, f"{GTIN}/-")
    near = k.alarms.get(AlarmKind.NEAR_EXPIRY, f"{GTIN}/-")
    assert expired is not None and expired.detail["slots"] == ["A-01"]
    assert near is not None and near.detail["slots"] == ["A-03"]
    assert near.detail["expiry"] == "2026-12-10" and near.detail["days_left"] == 14


def test_stock_out_is_raised_at_zero_and_cleared_by_stock(tmp_path: Path) -> None:
    k = InventoryKeeper(tmp_path / "l.sqlite", {GTIN: PRODUCT}, "s", "g", SiteCalendar(UTC, clock))
    pack = PackId("urn:epc:id:sgtin:4012345.012345.1", GTIN, "1")
    k.put_away(pack, "A-01")
    k.take(pack.epc)
    assert AlarmKind.STOCK_OUT in {a.kind for a in k.alarms.live() if a.subject == GTIN}
    k.put_away(PackId("urn:epc:id:sgtin:4012345.012345.2", GTIN, "2"), "A-01")
    assert AlarmKind.STOCK_OUT not in {a.kind for a in k.alarms.live()}


def test_an_alarm_is_acknowledged_once_by_whom(keeper: InventoryKeeper) -> None:
    expiry_sweep(keeper, TODAY, near_days=30)
    alarm_id = f"near_expiry-{GTIN}_SOON"
    keeper.alarms.acknowledge(alarm_id, "Dr. Ruiz")
    keeper.alarms.acknowledge(alarm_id, "someone else")
    [acked] = [a for a in keeper.alarms.live() if a.id == alarm_id]
    assert (acked.state, acked.acknowledged_by) == (AlarmState.ACKNOWLEDGED, "Dr. Ruiz")
    with pytest.raises(UnknownAlarm, match="no live alarm"):
        keeper.alarms.acknowledge("shortage-nothing", "Dr. Ruiz")


def test_a_near_expiry_alarm_counts_its_days_down_each_site_day(tmp_path: Path) -> None:
    """A batch 14 days from expiry says 14 on the day it is raised and 7 a week later, to the
    pharmacist and (retained) to the centre; the alarm is the same one, still acknowledged."""
    now = [datetime(2026, 11, 26, 9, 0, tzinfo=UTC)]
    k = InventoryKeeper(
        tmp_path / "l.sqlite", {GTIN: PRODUCT}, "s", "g", SiteCalendar(UTC, lambda: now[0])
    )
    k.commit(
        [
            Movement(
                MovementKind.PUT_AWAY, GTIN, 3, batch="SOON", expiry="2026-12-10", to_slot="A-02"
            )
        ]
    )
    expiry_sweep(k, k.calendar.today(), near_days=30)
    [raised] = k.alarms.live()
    assert (raised.detail["days_left"], raised.detail["as_of"]) == (14, "2026-11-26")
    k.alarms.acknowledge(raised.id, "Dr. Ruiz")
    now[0] += timedelta(days=7)
    out = expiry_sweep(k, k.calendar.today(), near_days=30)
    [alarm] = k.alarms.live()
    assert (alarm.detail["days_left"], alarm.detail["as_of"]) == (7, "2026-12-03")
    assert (alarm.state, alarm.acknowledged_by) == (AlarmState.ACKNOWLEDGED, "Dr. Ruiz")
    assert alarm.raised_at == raised.raised_at, "a new count is not a new alarm"
    assert [a.id for c in out.commits for a in c.alarms] == [alarm.id]
    with sqlite3.connect(tmp_path / "l.sqlite") as db:
        stored, sent = db.execute(
            "SELECT a.detail, o.payload FROM alarms a, outbox o WHERE o.key = a.id"
            " ORDER BY o.id DESC LIMIT 1"
        ).fetchone()
    assert json.loads(stored)["days_left"] == json.loads(sent)["detail"]["days_left"] == 7
    assert check_topic(f"rxedge/v1/s/g/alarms/{alarm.id}", sent) == []
    # Later the same day the sweep finds nothing new to say.
    assert not any(c.alarms for c in expiry_sweep(k, k.calendar.today(), 30).commits)
    k.close()


def test_an_expiry_alarm_follows_the_packs_of_its_batch(keeper: InventoryKeeper) -> None:
    expiry_sweep(keeper, TODAY, near_days=30)
    keeper.commit(
        [Movement(MovementKind.PICK, GTIN, 1, batch="SOON", expiry="2026-12-10", from_slot="A-02")]
    )
    expiry_sweep(keeper, TODAY, near_days=30)
    near = keeper.alarms.get(AlarmKind.NEAR_EXPIRY, f"{GTIN}/SOON")
    assert near is not None and near.detail["quantity"] == 1


def test_a_live_expiry_alarm_follows_its_packs_between_sweeps(keeper: InventoryKeeper) -> None:
    """No sweep in between: a slot emptied of the expired batch stops blinking at once (also
    refilled with fresh stock), the slot its packs are moved to starts, the centre is told each
    new state (raise time and acknowledgement kept); a near-expiry batch moved likewise."""
    keeper.commit(
        [Movement(MovementKind.PUT_AWAY, GTIN, 2, batch="OLD", expiry="2026-11-20", to_slot="A-04")]
    )
    expiry_sweep(keeper, TODAY, near_days=30)
    subject = f"{GTIN}/OLD"
    raised = keeper.alarms.get(AlarmKind.EXPIRED, subject)
    assert raised is not None and raised.detail["slots"] == ["A-01", "A-04"]
    keeper.alarms.acknowledge(raised.id, "Dr. Ruiz")

    [held] = keeper.index.contents("A-01")
    keeper.commit([held.leaving(MovementKind.WRITE_OFF, None, "Dr. Ruiz", "destroyed", "", 2)])
    keeper.commit(
        [Movement(MovementKind.PUT_AWAY, GTIN, 3, batch="NEW", expiry="2028-06-30", to_slot="A-01")]
    )
    [there] = keeper.index.contents("A-04")
    keeper.commit([there.leaving(MovementKind.MOVE, "A-05", "Dr. Ruiz", "shelf rebuilt", "", 2)])

    alarm = keeper.alarms.get(AlarmKind.EXPIRED, subject)
    assert alarm is not None
    assert (alarm.detail["slots"], alarm.detail["quantity"]) == (["A-05"], 2)
    assert (alarm.state, alarm.raised_at) == (AlarmState.ACKNOWLEDGED, raised.raised_at)
    lights = plan_lights(keeper.alarms.live(), keeper.index)
    assert "A-01" not in lights and "A-04" not in lights
    assert (lights["A-05"].colour, lights["A-05"].mode) == (Colour.RED, Mode.SLOW_BLINK)
    sent = keeper.db.execute(
        "SELECT payload FROM outbox WHERE key = ? ORDER BY id DESC LIMIT 1", (alarm.id,)
    ).fetchone()[0]
    assert json.loads(sent)["detail"]["slots"] == ["A-05"]
    assert check_topic(f"rxedge/v1/s/g/alarms/{alarm.id}", sent) == []

    [soon] = keeper.index.contents("A-02")
    keeper.commit([soon.leaving(MovementKind.MOVE, "A-06", "Dr. Ruiz", "", "", 1)])
    near = keeper.alarms.get(AlarmKind.NEAR_EXPIRY, f"{GTIN}/SOON")
    assert near is not None and near.detail["slots"] == ["A-02", "A-06"]
    assert (near.detail["quantity"], near.detail["days_left"]) == (2, 14)
    assert not any(c.alarms for c in expiry_sweep(keeper, TODAY, 30).commits), "up to date"


def test_a_batch_held_as_expired_on_a_wrong_date_is_released_at_the_next_sweep(
    tmp_path: Path,
) -> None:
    """A sweep ran with the clock a week ahead and held back batches that had days left. At
    the next sweep on the right date the ones it held are released, each with a movement
    saying why, and offered again; a recalled batch and one a person quarantined stay held."""
    now = [datetime(2026, 12, 13, 9, 0, tzinfo=UTC)]  # a week ahead
    k = InventoryKeeper(
        tmp_path / "l.sqlite", {GTIN: PRODUCT}, "s", "g", SiteCalendar(UTC, lambda: now[0])
    )
    for slot, batch in (("A-01", "GOOD"), ("A-02", "RECALLED"), ("A-03", "HELD")):
        put = Movement(MovementKind.PUT_AWAY, GTIN, 2, batch=batch, expiry="2026-12-10")
        k.commit([replace(put, to_slot=slot)])
    [held_by_hand] = k.index.contents("A-03")
    k.commit([held_by_hand.held("Dr. Ruiz", "damaged box")])
    expiry_sweep(k, k.calendar.today(), near_days=30)
    k.picks.recall(GTIN, "RECALLED", "supplier notice", "centre")
    assert all(line.status is StockStatus.QUARANTINED for line in k.index.lines())

    now[0] = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)  # NTP set the clock right
    out = expiry_sweep(k, k.calendar.today(), near_days=30)
    status = {line.batch: line.status for line in k.index.lines()}
    assert status == {
        "GOOD": StockStatus.AVAILABLE,
        "RECALLED": StockStatus.QUARANTINED,
        "HELD": StockStatus.QUARANTINED,
    }
    assert [line.batch for line in k.index.fefo(GTIN, k.calendar.today())] == ["GOOD"]
    [release] = [m for c in out.commits for m in c.movements]
    assert (release.kind, release.actor, release.quantity) == (MovementKind.RELEASE, "system", 2)
    assert "wrong date" in release.reason and "2026-12-10" in release.reason
    assert any("released" in note and "GOOD" in note for note in out.notes)
    assert kinds(k) == {
        f"{GTIN}/GOOD": AlarmKind.NEAR_EXPIRY,
        f"{GTIN}/RECALLED": AlarmKind.NEAR_EXPIRY,
        f"{GTIN}/HELD": AlarmKind.NEAR_EXPIRY,
    }
    again = expiry_sweep(k, k.calendar.today(), near_days=30)
    assert not any(c.movements for c in again.commits), "released once"
    assert verify(k.db).ok
    k.close()
