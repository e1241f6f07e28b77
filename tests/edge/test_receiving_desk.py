"""The receiving desk on the running daemon with real peers (mosquitto, a pty GS1 scanner with
role receiving, a Modbus TCP shelf controller): a pack that must not reach the shelves is not
booked in, its slot blinks red and the pharmacist is alarmed, as at a put-away scanner; a code
the scanner's checks refuse blinks red too, so the clerk knows to scan again."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from drivers.modbus.lights import DARK
from edge.demo.local_broker import LocalBroker
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.putaway_rig import (
    AMOX,
    IBU,
    PARA,
    PREFIX,
    PRODUCTS,
    RED,
    STATION,
    PutawayRig,
    code,
)

GOOD = code(AMOX, "B7", 400)


@pytest.fixture
async def rig(tmp_path: Path, broker: LocalBroker) -> AsyncIterator[PutawayRig]:
    made = PutawayRig(tmp_path, broker)
    desk = {"name": "goods-in", "port": made.scanner.port, "role": "receiving"}
    await made.start(scanners=[{**desk, "receive_to": STATION}])
    yield made
    await made.stop()


def alarms(centre: Subscriber) -> list[dict[str, object]]:
    return [json.loads(m.payload) for m in centre.drain() if "/alarms/" in m.topic and m.payload]


@pytest.mark.parametrize(
    ("pack", "reason", "alarm"),
    [
        (code(AMOX, "B7", -2), "expired", "refused_pack"),
        (code(AMOX, "B7", 30), "short shelf life", "refused_pack"),
        (code(AMOX, "BAD", 400), "recalled", "refused_pack"),
        (code(AMOX, "B0", 400, serial="S1"), "duplicate serial", "duplicate_pack"),
        (code("05012345678900", "X1", 400, serial="9"), "unknown product", None),
    ],
)
async def test_a_pack_that_must_not_reach_the_shelves_is_not_booked_in_at_receiving(
    rig: PutawayRig,
    subscribe: Callable[..., Subscriber],
    pack: str,
    reason: str,
    alarm: str | None,
) -> None:
    centre = subscribe(f"{PREFIX}/alarms/+")
    before = rig.movement_count()
    rig.scanner.scan(pack)
    await eventually(lambda: rig.shows(STATION, RED), what=f"{reason}: red at the desk's slot")
    if alarm is not None:
        raised = await eventually(
            lambda: [a for a in alarms(centre) if a["kind"] == alarm], what=f"{alarm} alarm"
        )
        detail = raised[0]["detail"]
        assert (detail["reason"], detail["scanner"]) == (reason, "goods-in")  # type: ignore[index]
    assert rig.movement_count() == before, "nothing booked"
    rig.scanner.scan(GOOD)  # the next, good pack is booked as before
    await eventually(lambda: [r[:3] for r in rig.receipts()] == [(STATION, AMOX, "B7")])


async def test_a_good_pack_is_booked_in_without_a_light(rig: PutawayRig) -> None:
    rig.scanner.scan(GOOD)
    await eventually(lambda: len(rig.receipts()) == 1, what="booked into the desk's slot")
    assert await rig.shows(STATION, DARK)


async def test_a_code_the_scanner_cannot_take_blinks_red_so_the_clerk_scans_again(
    rig: PutawayRig,
) -> None:
    rig.scanner.scan("4012345123456", symbology="]E0")  # the pack's EAN-13, not its DataMatrix
    await eventually(lambda: rig.shows(STATION, RED), what="red at the desk's slot")
    assert rig.receipts() == []
    assert any("DataMatrix" in a.text for a in rig.activity if a.kind == "mistake")


LATER = f"{date.today() + timedelta(days=400):%y%m%d}"
GONE = f"{date.today() - timedelta(days=2):%y%m%d}"


@pytest.mark.parametrize(
    "sent",
    [
        f"01{AMOX}17{LATER}" + "21ABCDEFGH1234" + "10BAD",
        f"01{PARA}" + "21ABCDEFGH1234" + f"17{GONE}" + "10B7",
        f"01{PARA}17{LATER}" + "10B7" + "21K4T9Q2M7X1",
    ],
    ids=["recalled batch in the serial", "past expiry in the serial", "serial in the batch"],
)
async def test_a_scan_whose_fields_ran_together_is_not_booked_and_names_the_setting(
    rig: PutawayRig, sent: str
) -> None:
    """A scanner that drops the GS between fields: the code reads as a serial that swallowed
    the batch (a medicine's code carries one) or the expiry, or as a batch that swallowed the
    serial of a product that requires one. (Amoxicillin takes packs without serial: for it,
    a batch holding "21" and more is a batch, as a real one may be: L2105123456.)"""
    rig.scanner.scan(sent)
    await eventually(lambda: rig.shows(STATION, RED), what="red at the desk's slot")
    assert rig.receipts() == []
    assert any("FNC1 as GS" in a.text for a in rig.activity if a.kind == "mistake")
    rig.scanner.scan(GOOD)  # the scanner set right, the next pack is booked as before
    await eventually(lambda: [r[:3] for r in rig.receipts()] == [(STATION, AMOX, "B7")])


async def test_a_device_code_whose_serial_holds_10_is_booked_and_a_product_link_is_not(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """A medical device's code: a serial and no batch, the serial last, so no GS at all; the
    gateway is told its codes may lack a batch. A QR code's Digital Link with the GTIN alone
    names the product, not the pack: the DataMatrix is asked for."""
    made = PutawayRig(tmp_path, broker)
    desk = {"name": "goods-in", "port": made.scanner.port, "role": "receiving"}
    device = {**PRODUCTS[2], "name": "Glucose meter", "batch_and_expiry": False}
    await made.start(scanners=[{**desk, "receive_to": STATION}], products=[*PRODUCTS[:2], device])
    try:
        made.scanner.scan(f"https://id.gs1.org/01/{IBU}", symbology="]Q1")
        await eventually(lambda: made.shows(STATION, RED), what="red at the desk's slot")
        assert any("DataMatrix" in a.text for a in made.activity if a.kind == "mistake")
        made.scanner.scan(f"01{IBU}11230515" + "211234510678")
        booked = (STATION, IBU, "", "1234510678")
        await eventually(lambda: [r[:4] for r in made.receipts()] == [booked])
    finally:
        await made.stop()


@pytest.mark.parametrize(
    ("sent", "said"),
    [
        # A scanner sending 7 data bits with even parity, read as 8 data bits: high bits set.
        (bytes(b | 0x80 if bin(b).count("1") % 2 else b for b in GOOD.encode()), "7 data bits"),
        (b"5" * 600, "longer than 512 bytes"),
    ],
    ids=["7E1 scanner", "over-long"],
)
async def test_a_scan_that_cannot_be_a_code_blinks_red_and_counts_as_refused(
    rig: PutawayRig, sent: bytes, said: str
) -> None:
    rig.scanner.line.send(b"]d2" + sent + b"\r\n")
    await eventually(lambda: rig.shows(STATION, RED), what="red at the desk's slot")
    assert rig.receipts() == []
    assert any(said in a.text for a in rig.activity if a.kind == "mistake")
    assert rig.gateway is not None and rig.gateway.counters["scans_refused"] == 1


async def test_a_receiving_desk_alarm_clears_once_a_pharmacist_acknowledged_it(
    rig: PutawayRig, subscribe: Callable[..., Subscriber]
) -> None:
    """No session ends for a pack refused at a receiving scanner: looked at, it is dealt with."""
    centre = subscribe(f"{PREFIX}/alarms/+")

    def refused() -> list[dict[str, object]]:
        return [a for a in alarms(centre) if a["kind"] == "refused_pack"]

    rig.scanner.scan(code(AMOX, "B7", -2))
    raised = (await eventually(refused, what="the refused_pack alarm"))[0]
    ack = {"alarm_id": raised["alarm_id"], "by": "Ana Ruiz"}
    centre.publish(f"{PREFIX}/cmd/alarm-ack", json.dumps(with_envelope(ack)))

    def state() -> tuple[str, str | None]:
        with sqlite3.connect(rig.db) as db:
            row = db.execute(
                "SELECT state, acknowledged_by FROM alarms WHERE id = ?", (raised["alarm_id"],)
            ).fetchone()
        return row[0], row[1]

    await eventually(lambda: state() == ("cleared", "Ana Ruiz"), what="cleared, who kept")
    topic = f"{PREFIX}/alarms/{raised['alarm_id']}"

    def states() -> list[str]:
        return [
            json.loads(m.payload)["state"] if m.payload else ""
            for m in centre.drain()
            if m.topic == topic
        ]

    await eventually(lambda: states()[-1:] == [""], what="gone at the broker")
    assert states() == ["raised", "acknowledged", ""], "the centre sees who looked, then it goes"


async def test_a_pack_scanned_twice_at_the_desk_is_booked_once_and_suspected_of_nothing(
    rig: PutawayRig, subscribe: Callable[..., Subscriber]
) -> None:
    centre = subscribe(f"{PREFIX}/alarms/+")
    serialized = code(AMOX, "B7", 400, serial="S9")
    rig.scanner.scan(serialized)
    await eventually(lambda: len(rig.receipts()) == 1, what="booked into the desk's slot")
    rig.scanner.scan(serialized)  # the clerk was not sure it beeped
    await eventually(
        lambda: any(f"booked in {STATION} already" in a.text for a in rig.activity), what="told"
    )
    assert len(rig.receipts()) == 1
    assert [a for a in alarms(centre) if a["kind"] == "duplicate_pack"] == []
    assert await rig.shows(STATION, DARK), "no red: nothing went wrong"
