"""What a confirmed count books, and what its alarm says: a pack found that the ledger knew
keeps its batch and expiry; a newer count's alarm is the one that stands; untagged packs of
no known batch are counted in EPCIS as their GTIN."""

from __future__ import annotations

from pathlib import Path

from inventory.alarms.lifecycle import AlarmKind, AlarmState, alarm_id
from inventory.ledger.movements import Movement, MovementKind
from inventory.stocktake.epcis import count_events
from inventory.stocktake.event_hash import pre_hash
from inventory.stocktake.sweep import SlotCount, StocktakeReport, Sweep
from tests.epcis_schema import epcis_problems
from tests.inventory.test_stocktake import GTIN, SLOTS, keeper_at, loc, pack, sweep_of


def test_a_pack_put_back_unseen_keeps_its_batch_and_expiry_when_the_count_books_it(
    tmp_path: Path,
) -> None:
    keeper = keeper_at(tmp_path / "l.sqlite")
    p = pack(1)
    keeper.commit(
        [
            Movement(
                MovementKind.RECEIVE, GTIN, 1, p.serial, p.epc, "B7", "2027-06-30", to_slot="A-01"
            )
        ]
    )
    keeper.take(p.epc, "Ana", "picked for rx 123")  # then put back while no reader saw it
    keeper.stocktakes.finish(sweep_of({1: "A-01"}))
    keeper.stocktakes.confirm("st-1", "Bea")
    line = keeper.line_of_epc(p.epc)
    assert line is not None
    assert (line.slot, line.batch, line.expiry) == ("A-01", "B7", "2027-06-30")


def test_a_newer_count_raises_the_discrepancy_alarm_afresh_with_its_own_slots(
    tmp_path: Path,
) -> None:
    keeper = keeper_at(tmp_path / "l.sqlite")
    keeper.put_away(pack(1), "A-01")
    keeper.put_away(pack(3), "A-03")
    keeper.stocktakes.finish(sweep_of({3: "A-03"}))  # st-1: pack 1 missing in A-01
    keeper.alarms.acknowledge(alarm_id(AlarmKind.DISCREPANCY, "A"), "Ana")
    newer = Sweep("st-2", "A", SLOTS, "Ana")
    for slot in SLOTS:
        newer.location(slot, loc(slot), rssi=-40)
        if slot == "A-01":
            newer.pack(pack(1), rssi=-50)
        newer.round_done()
    keeper.stocktakes.finish(newer)  # st-2: pack 1 found, pack 3 missing in A-03
    (alarm,) = [a for a in keeper.alarms.live() if a.kind is AlarmKind.DISCREPANCY]
    assert alarm.detail["stocktake_id"] == "st-2" and alarm.detail["slots"] == ["A-03"]
    assert alarm.state is AlarmState.RAISED, "a new count's differences are not acknowledged"


def test_untagged_packs_of_no_batch_are_counted_as_their_gtin() -> None:
    report = StocktakeReport(
        "st-1",
        "A",
        "Ana",
        [SlotCount("A-02", expected=5, untagged=5)],
        [],
        {"A-02": "urn:epc:id:sgln:4012345.00001.2"},
        untagged_by_slot={"A-02": [(GTIN, "", 3), (GTIN, "B1", 2)]},
        counted_at="2026-11-26T09:00:00.000Z",
    )
    [event] = count_events(report, "s1")
    assert event["quantityList"] == [
        {"epcClass": "urn:epc:idpat:sgtin:4012345.012345.*", "quantity": 3},
        {"epcClass": "urn:epc:class:lgtin:4012345.012345.B1", "quantity": 2},
    ]
    assert epcis_problems(event) == []
    assert "https://id.gs1.org/01/04012345123456quantity=3" in pre_hash(
        event, {"rxedge": "urn:rxedge:epcis:"}
    )
