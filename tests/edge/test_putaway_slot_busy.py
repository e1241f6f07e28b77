"""Two desks putting away the same drug, on the running daemon with real peers (mosquitto, two
pty GS1 scanners, a Modbus TCP shelf controller): a slot is lit for one desk at a time, so a
press there books a pack of that desk, the pack laid. The other desk's pack goes to another
slot of the drug with room; with none, it is refused `slot busy` (red at its station) and lit
once the first desk's packs are put, scanned again, without counting as a refused pack."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from drivers.modbus.lights import DARK
from drivers.modbus.profile import Colour
from edge.demo.local_broker import LocalBroker
from sync.commands import with_envelope
from sync.contract import validate
from tests.conftest import Subscriber, eventually
from tests.edge.putaway_rig import (
    AMOX,
    PREFIX,
    PRODUCTS,
    RED,
    STATION_2,
    PutawayRig,
    code,
    lit,
)

# Every slot of shelf A but Amoxicillin's home A-01 is another product's home or a station.
FILLERS = [
    {"gtin": gtin, "name": f"Filler {slot}", "reorder_point": 0, "par": 1, "slots": [slot]}
    for gtin, slot in (
        ("04012345000030", "A-02"),
        ("04012345000047", "A-04"),
        ("04012345000054", "A-06"),
    )
]


def answers(centre: Subscriber, status: str) -> list[dict[str, object]]:
    return [
        r
        for r in centre.payloads("/cmd-result")
        if r.get("command") == "putaway" and r["status"] == status
    ]


async def test_a_pack_for_a_slot_lit_for_another_desk_is_refused_until_that_desk_has_put(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    rig = PutawayRig(tmp_path, broker)
    await rig.start(products=[*PRODUCTS, *FILLERS])
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        rig.scanner.scan(code(AMOX, "CLERK1", 400, serial="C1"))
        await eventually(lambda: rig.shows("A-01", lit(Colour.GREEN, 1)), what="goods-in's")
        rig.scanner_2.scan(code(AMOX, "CLERK2", 500, serial="C2"))
        [refused] = await eventually(lambda: answers(centre, "refused"), what="desk-2 refused")
        assert (refused["reason"], refused["serial"], refused["slot"]) == (
            "slot busy",
            "C2",
            STATION_2,
        )
        why = str(refused["why"])
        assert "A-01" in why and "goods-in" in why and "scan this pack again" in why, why
        assert validate("cmd-result", refused) == []
        await eventually(lambda: rig.shows(STATION_2, RED), what="red at desk-2's station")
        await rig.shows_only("A-01", lit(Colour.GREEN, 1))
        await rig.press("A-01")
        await eventually(lambda: rig.receipts(), what="goods-in's pack booked")
        assert [r[:4] for r in rig.receipts()] == [("A-01", AMOX, "CLERK1", "C1")]
        await eventually(lambda: rig.shows("A-01", DARK), what="A-01 put")
        rig.scanner_2.scan(code(AMOX, "CLERK2", 500, serial="C2"))  # scanned again: lit now
        await eventually(lambda: rig.shows("A-01", lit(Colour.BLUE, 1)), what="desk-2's")
        await rig.press("A-01")
        await eventually(lambda: len(rig.receipts()) == 2, what="desk-2's pack booked")
        assert rig.receipts()[1][:4] == ("A-01", AMOX, "CLERK2", "C2")
        [desk_2] = {a["command_id"] for a in answers(centre, "refused")}
        end = {"delivery_id": desk_2, "by": "Ben"}
        centre.publish(f"{PREFIX}/cmd/putaway-end", json.dumps(with_envelope(end)))
        [closed] = await eventually(lambda: answers(centre, "closed"), what="desk-2 closed")
        assert (closed["put"], closed["refused"], closed["refused_packs"]) == (1, 0, [])
    finally:
        await rig.stop()


async def test_with_another_home_slot_the_other_desks_pack_goes_there_and_a_press_books_it(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    rig = PutawayRig(tmp_path, broker)
    amox = {**PRODUCTS[0], "slots": ["A-01", "A-02"]}
    await rig.start(products=[amox, *PRODUCTS[1:]])
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        rig.scanner.scan(code(AMOX, "CLERK1", 400, serial="C1"))
        await eventually(lambda: rig.shows("A-01", lit(Colour.GREEN, 1)), what="goods-in's")
        rig.scanner_2.scan(code(AMOX, "CLERK2", 500, serial="C2"))
        await eventually(lambda: len(answers(centre, "lit")) == 2, what="desk-2's lit")
        assert [(a["serial"], a["slot"]) for a in answers(centre, "lit")] == [
            ("C1", "A-01"),
            ("C2", "A-02"),  # its other home slot
        ]
        await eventually(lambda: rig.shows("A-02", lit(Colour.BLUE, 1)), what="desk-2's")
        await rig.shows_only("A-01", lit(Colour.GREEN, 1))
        await rig.press("A-01")  # goods-in's clerk lays C1 and presses
        await eventually(lambda: rig.receipts(), what="a pack booked")
        assert [r[:4] for r in rig.receipts()] == [("A-01", AMOX, "CLERK1", "C1")]
        await eventually(lambda: rig.shows("A-01", DARK), what="A-01 put")
        assert await rig.shows("A-02", lit(Colour.BLUE, 1)), "desk-2's pack still to put"
        await rig.press("A-02")
        await eventually(lambda: len(rig.receipts()) == 2, what="desk-2's pack booked")
        assert rig.receipts()[1][:4] == ("A-02", AMOX, "CLERK2", "C2")
        assert answers(centre, "refused") == []
    finally:
        await rig.stop()
