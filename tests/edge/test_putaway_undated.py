"""A delivered pack whose code lacks its expiry or batch, on the running daemon with real peers
(mosquitto, a pty GS1 scanner at a receiving desk and one at a put-away desk, a Modbus TCP shelf
controller): a medicine's code carries both, so such a pack is refused with red at the desk and
the reason, never booked undated where no expiry sweep or recall would find it. A GS1 Digital
Link giving its expiry in the query is taken with that date; a device's pack, whose product
says its codes may lack them, is booked as before."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from drivers.modbus.profile import Colour
from edge.demo.local_broker import LocalBroker
from sync.contract import validate
from tests.conftest import Subscriber, eventually
from tests.edge.putaway_rig import (
    AMOX,
    IBU,
    PARA,
    PREFIX,
    PRODUCTS,
    RED,
    STATION,
    STATION_2,
    PutawayRig,
    lit,
)

LATER = date.today() + timedelta(days=400)
LINK = "https://id.gs1.org/01/{gtin}/10/{batch}/21/{serial}"
DEVICE = {**PRODUCTS[2], "name": "Glucose meter", "batch_and_expiry": False}


@pytest.fixture
async def rig(tmp_path: Path, broker: LocalBroker) -> AsyncIterator[PutawayRig]:
    """goods-in books each pack into STATION at once; desk-2 lights where it goes."""
    made = PutawayRig(tmp_path, broker)
    receiving = {"name": "goods-in", "port": made.scanner.port, "role": "receiving"}
    putaway = {"name": "desk-2", "port": made.scanner_2.port, "role": "putaway"}
    await made.start(
        scanners=[{**receiving, "receive_to": STATION}, {**putaway, "receive_to": STATION_2}],
        products=[*PRODUCTS[:2], DEVICE],
    )
    yield made
    await made.stop()


def stock(rig: PutawayRig, gtin: str) -> list[tuple[str, str, str | None, str, str]]:
    """(slot, batch, expiry, serial, status) of every line of `gtin` booked in at the desk."""
    with sqlite3.connect(rig.db) as db:
        rows = db.execute(
            "SELECT slot, batch, expiry, serial, status FROM stock WHERE gtin = ? AND slot = ?",
            (gtin, STATION),
        )
        return [tuple(r) for r in rows]


def answers(centre: Subscriber, status: str) -> list[dict[str, object]]:
    found = centre.payloads("/cmd-result")
    return [r for r in found if r.get("command") == "putaway" and r["status"] == status]


@pytest.mark.parametrize(
    ("sent", "symbology", "gtin", "lacking"),
    [
        (LINK.format(gtin=AMOX, batch="LOT5", serial="Q1"), "]Q1", AMOX, "no expiry date"),
        (f"01{PARA}2177", "]d2", PARA, "no expiry date (AI 17) nor batch (AI 10)"),
        (f"01{AMOX}17{LATER:%y%m%d}21Q2", "]d2", AMOX, "no batch (AI 10)"),
    ],
    ids=["digital link without ?17", "datamatrix without 17 and 10", "datamatrix without 10"],
)
async def test_a_pack_whose_code_lacks_its_expiry_or_batch_is_not_booked_at_receiving(
    rig: PutawayRig, sent: str, symbology: str, gtin: str, lacking: str
) -> None:
    before = rig.movement_count()
    rig.scanner.scan(sent, symbology=symbology)
    await eventually(lambda: rig.shows(STATION, RED), what="red at the desk's slot")
    said = [a.text for a in rig.activity if a.kind == "mistake" and lacking in a.text]
    assert said and "scan the pack's GS1 DataMatrix" in said[0], [a.text for a in rig.activity]
    assert rig.movement_count() == before, "nothing booked"
    assert stock(rig, gtin) == []


async def test_a_digital_link_with_its_expiry_in_the_query_is_booked_with_that_date(
    rig: PutawayRig,
) -> None:
    link = LINK.format(gtin=AMOX, batch="LOT5", serial="Q1") + f"?17={LATER:%y%m%d}"
    rig.scanner.scan(link, symbology="]Q1")
    booked = (STATION, "LOT5", LATER.isoformat(), "Q1", "available")
    await eventually(lambda: stock(rig, AMOX) == [booked], what="booked with its expiry")


async def test_a_device_whose_codes_may_lack_batch_and_expiry_is_booked_without_them(
    rig: PutawayRig,
) -> None:
    rig.scanner.scan(f"01{IBU}2177")
    booked = (STATION, "", None, "77", "available")
    await eventually(lambda: stock(rig, IBU) == [booked], what="booked as it stands")


async def test_a_put_away_desk_refuses_a_code_without_expiry_and_lights_its_datamatrix(
    rig: PutawayRig, subscribe: Callable[..., Subscriber]
) -> None:
    centre = subscribe(f"{PREFIX}/cmd-result")
    rig.scanner_2.scan(LINK.format(gtin=AMOX, batch="B7", serial="Q7"), symbology="]Q1")
    await eventually(lambda: rig.shows(STATION_2, RED), what="red at the station")
    [refused] = await eventually(lambda: answers(centre, "refused"), what="reported")
    assert validate("cmd-result", refused) == []
    assert (refused["reason"], refused["expiry"], refused["slot"]) == ("no expiry", None, STATION_2)
    assert "scan the pack's GS1 DataMatrix" in str(refused["why"])
    dated = f"01{AMOX}17{LATER:%y%m%d}10B7\x1d21Q7"  # the same pack's DataMatrix
    rig.scanner_2.scan(dated)
    [shown] = await eventually(lambda: answers(centre, "lit"), what="lit for its slot")
    assert (shown["slot"], shown["expiry"]) == ("A-01", LATER.isoformat())
    await eventually(lambda: rig.shows("A-01", lit(Colour.GREEN, 1)), what="A-01 lit")
