"""EPCIS 2.0 events of a stocktake: valid under GS1's schema, the count's time and the site's
offset, SGLN locations, only what the sweep observed (untagged packs in no event), no empty
event, and the CBV 2.0 event hash as a deterministic eventID (pinned by published vectors)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from edge.cli.stocktake_report import epcis_export
from inventory.codes.identifiers import PackId, sgln_uri
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from inventory.site_calendar import SiteCalendar
from inventory.stocktake.event_hash import event_hash, pre_hash
from inventory.stocktake.report import StocktakeReport
from inventory.stocktake.sweep import Sweep
from tests.epcis_schema import epcis_problems

GTIN = "04012345123456"
GLN = "4012345000016"
SLOTS = ["A-01", "A-02", "A-03", "A-04"]
COUNTED = datetime(2026, 3, 9, 17, 0, 0, 123000, tzinfo=UTC)  # 01:00 on 10 March in Shanghai

# From the test data published with the reference implementation of the event hash
# (epcis-event-hash-generator, tests/examples/epcisDocWithSingleEvent.*).
PUBLISHED_EVENT = {
    "type": "ObjectEvent",
    "action": "OBSERVE",
    "bizStep": "shipping",
    "disposition": "in_transit",
    "epcList": ["urn:epc:id:sgtin:0614141.107346.2017", "urn:epc:id:sgtin:0614141.107346.2018"],
    "eventTime": "2022-02-16T20:33:31.116000-06:00",
    "eventTimeZoneOffset": "-06:00",
    "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"},
    "bizTransactionList": [
        {"type": "po", "bizTransaction": "http://transaction.acme.com/po/12345678"}
    ],
}
PUBLISHED_PRE_HASH = (
    "eventType=ObjectEventeventTime=2022-02-17T02:33:31.116ZeventTimeZoneOffset=-06:00"
    "epcListepc=https://id.gs1.org/01/10614141073464/21/2017"
    "epc=https://id.gs1.org/01/10614141073464/21/2018action=OBSERVE"
    "bizStep=https://ref.gs1.org/cbv/BizStep-shipping"
    "disposition=https://ref.gs1.org/cbv/Disp-in_transit"
    "readPointid=https://id.gs1.org/414/0614141073467/254/1234"
    "bizTransactionListbizTransaction=http://transaction.acme.com/po/12345678"
    "type=https://ref.gs1.org/cbv/BTT-po"
)
PUBLISHED_HASH = (
    "ni:///sha-256;3e0f2437f4cb5e8a1b832b769c0eed1bf3e1421f14061132e9800ded03f10182?ver=CBV2.0"
)

# An event of rxedge's shape with a quantityList as well (the hash covers both lists), hashed
# by the reference implementation (epcis-event-hash-generator 1.9.3) to this value.
OUR_SHAPE = {
    "type": "ObjectEvent",
    "eventTime": "2022-02-16T20:33:31.116Z",
    "eventTimeZoneOffset": "+08:00",
    "epcList": ["urn:epc:id:sgtin:0614141.812345.12345"],
    "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 3}],
    "action": "OBSERVE",
    "bizStep": "cycle_counting",
    "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.7"},
    "bizLocation": {"id": "urn:epc:id:sgln:4012345.00001.7"},
    "rxedge:stocktake": "st-A-1",
}
OUR_SHAPE_HASH = (
    "ni:///sha-256;ef4e1add5092e29a32e50618b4bc8419bec5cbc826ea53c81a3ec440d21bc5c6?ver=CBV2.0"
)


def test_the_event_hash_matches_the_published_vectors() -> None:
    assert pre_hash(PUBLISHED_EVENT, {}) == PUBLISHED_PRE_HASH
    assert event_hash(PUBLISHED_EVENT, {}) == PUBLISHED_HASH
    assert event_hash(OUR_SHAPE, {"rxedge": "urn:rxedge:epcis:"}) == OUR_SHAPE_HASH


def test_the_event_hash_ignores_order_and_notices_every_change() -> None:
    prefixes = {"rxedge": "urn:rxedge:epcis:"}
    reordered = {**dict(reversed(list(OUR_SHAPE.items()))), "epcList": OUR_SHAPE["epcList"]}
    assert event_hash(reordered, prefixes) == OUR_SHAPE_HASH
    same_instant = {**OUR_SHAPE, "eventTime": "2022-02-17T04:33:31.116+08:00"}
    assert event_hash(same_instant, prefixes) == OUR_SHAPE_HASH
    for change in (
        {"eventTime": "2022-02-16T20:33:31.117Z"},
        {"epcList": ["urn:epc:id:sgtin:0614141.812345.12346"]},
        {"quantityList": [{"epcClass": OUR_SHAPE["quantityList"][0]["epcClass"], "quantity": 4}]},
        {"rxedge:stocktake": "st-A-2"},
    ):
        assert event_hash({**OUR_SHAPE, **change}, prefixes) != OUR_SHAPE_HASH
    with pytest.raises(ValueError, match="ilmd"):
        event_hash({**OUR_SHAPE, "ilmd": {}}, prefixes)


def test_a_class_of_packs_of_no_batch_is_hashed_as_its_gtin() -> None:
    of_no_batch = [{"epcClass": "urn:epc:idpat:sgtin:4012345.012345.*", "quantity": 3}]
    hashed = pre_hash({**OUR_SHAPE, "quantityList": of_no_batch}, {"rxedge": "urn:rxedge:epcis:"})
    assert "https://id.gs1.org/01/04012345123456quantity=3" in hashed


def pack(n: int) -> PackId:
    return PackId(f"urn:epc:id:sgtin:4012345.012345.{n}", GTIN, str(n))


@pytest.fixture
def counted(tmp_path: Path) -> tuple[StocktakeReport, list[dict[str, Any]]]:
    """A count of shelf A at 01:00 site time in Shanghai (tagged packs in A-01 and A-02, two
    untagged packs beside the tagged one in A-01, ten of two batches in A-03, nothing in A-04):
    its stored report and the events queued for the `events` topic."""
    calendar = SiteCalendar(ZoneInfo("Asia/Shanghai"), lambda: COUNTED)
    keeper = InventoryKeeper(tmp_path / "l.sqlite", {}, "s1", "g1", calendar)
    keeper.put_away(pack(1), "A-01")
    keeper.put_away(pack(2), "A-02")
    keeper.commit(
        [
            Movement(
                MovementKind.RECEIVE, GTIN, 6, batch="B1", expiry="2027-01-31", to_slot="A-03"
            ),
            Movement(
                MovementKind.RECEIVE, GTIN, 4, batch="B/2", expiry="2027-02-28", to_slot="A-03"
            ),
            Movement(
                MovementKind.RECEIVE, GTIN, 2, batch="B1", expiry="2027-01-31", to_slot="A-01"
            ),
        ]
    )
    locations = {slot: sgln_uri(GLN, str(i + 1)) for i, slot in enumerate(SLOTS)}
    sweep = Sweep("st-A-1", "A", SLOTS, "Ana", locations)
    for slot, n in (("A-01", 1), ("A-02", 2)):
        sweep.location(slot, "urn:epc:id:sgln:4012345.00001.x", rssi=-40)
        sweep.pack(pack(n), rssi=-45)
        sweep.round_done()
    for slot in ("A-03", "A-04"):  # passed too: counted (a slot not passed gives no event)
        sweep.location(slot, "urn:epc:id:sgln:4012345.00001.x", rssi=-40)
        sweep.round_done()
    keeper.stocktakes.finish(sweep)
    (row,) = keeper.db.execute("SELECT report FROM stocktakes").fetchall()
    sent = [
        json.loads(r[0])
        for r in keeper.db.execute("SELECT payload FROM outbox WHERE kind = 'event'")
    ]
    keeper.close()
    return StocktakeReport.from_dict(json.loads(row[0])), sent


def test_the_stream_and_the_export_give_the_same_valid_events(
    counted: tuple[StocktakeReport, list[dict[str, Any]]],
) -> None:
    report, sent = counted
    for event in sent:
        assert epcis_problems(event) == [], event
    document = epcis_export(report, datetime(2026, 5, 1, tzinfo=UTC), "s1")
    assert epcis_problems(document) == []
    assert document["epcisBody"]["eventList"] == [
        {k: v for k, v in event.items() if k != "@context"} for event in sent
    ]
    again = epcis_export(report, datetime(2026, 6, 1, tzinfo=UTC), "s1")
    assert again["epcisBody"] == document["epcisBody"]  # a later export: the same events


def test_each_event_is_what_the_sweep_saw_at_its_slot(
    counted: tuple[StocktakeReport, list[dict[str, Any]]],
) -> None:
    events = {e["readPoint"]["id"]: e for e in counted[1]}
    # No event for A-04 (nothing was there), nor for A-03: its untagged packs were not
    # observed, and an OBSERVE event would tell the centre they were counted.
    assert set(events) == {sgln_uri(GLN, "1"), sgln_uri(GLN, "2")}
    assert sgln_uri(GLN, "1") == "urn:epc:id:sgln:4012345.00001.1"
    for event in events.values():
        assert event["eventTime"] == "2026-03-09T17:00:00.123Z"
        assert event["eventTimeZoneOffset"] == "+08:00"
        assert event["bizLocation"] == event["readPoint"]
        assert event["rxedge:stocktake"] == "st-A-1"
        bare = {k: v for k, v in event.items() if k not in ("@context", "eventID")}
        assert event["eventID"] == event_hash(bare, {"rxedge": "urn:rxedge:epcis:"})
    assert events[sgln_uri(GLN, "1")]["epcList"] == [pack(1).epc]
    assert not any("quantityList" in e for e in events.values())  # A-01's untagged neither
    # The ledger's figure for them stays in the report, for people, as not counted.
    assert counted[0].untagged_by_slot == {
        "A-01": [(GTIN, "B1", 2)],
        "A-03": [(GTIN, "B/2", 4), (GTIN, "B1", 6)],
    }
    assert len({e["eventID"] for e in events.values()}) == 2
