"""Which pack a tag is, on the running daemon with real peers (mosquitto, pty GS1 scanners, the
pty R2000 reader whose antennas 1 and 2 watch A-03 and A-04, the Modbus shelf simulator): the
tag of a counted pack put by its button joins that pack instead of booking a second one, but a
pack of the shelf lifted and put back there meanwhile is returned, not taken for it; and a
pack laid in a slot not lit for it is booked once its delivery has timed out or ended, where
it lies or where it is moved to, and the red it made there ends then unless another mistake
holds the slot red: the red of several such packs ends once the last is booked, in any order,
and a pack seen astray in two slots in turn ends both reds."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from functools import partial
from pathlib import Path

from drivers.modbus.lights import DARK
from drivers.modbus.profile import Colour
from edge.demo.local_broker import LocalBroker
from firmware_sim.tags import sgtin96
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from inventory.replenishment.policy import Product
from sync.commands import with_envelope
from tests.clocks import PassingClock
from tests.conftest import Subscriber, eventually
from tests.edge.putaway_rig import (
    IBU,
    PARA,
    PREFIX,
    PRODUCTS,
    RED,
    PutawayRig,
    code,
    lit,
    para_tag,
)

TIMEOUT = 120  # the rig's picking.timeout_seconds


def stock(rig: PutawayRig, gtin: str) -> list[tuple[str, str, str, str | None, int]]:
    """(slot, batch, serial, EPC, quantity) of each stock line of `gtin`."""
    with sqlite3.connect(rig.db) as db:
        rows = db.execute(
            "SELECT slot, batch, serial, epc, quantity FROM stock WHERE gtin = ? ORDER BY slot",
            (gtin,),
        )
        return [tuple(r) for r in rows]


async def laid_astray_and_ended(
    rig: PutawayRig, centre: Subscriber, serial: int, press_there: bool = False
) -> None:
    """A paracetamol pack lit in A-03 laid in A-04 (red there: not lit for it; pressed there
    too when `press_there`), and its delivery ended: it is booked where it lies."""
    rig.scanner.scan(code(PARA, "P1", 300, serial=str(serial)))
    await eventually(lambda: rig.shows("A-03", lit(Colour.GREEN, 1)), what="A-03 lit")
    rig.reader.place(2, para_tag(serial))
    await eventually(lambda: rig.shows("A-04", RED), what="A-04 red: not lit for it")
    if press_there:
        mistakes = len(answers(centre, "wrong_slot"))
        await rig.press("A-04")
        await eventually(lambda: len(answers(centre, "wrong_slot")) > mistakes, what="pressed")
    delivery_id = answers(centre, "lit")[0]["command_id"]
    end = {"delivery_id": delivery_id, "by": "Dr. Ruiz"}
    centre.publish(f"{PREFIX}/cmd/putaway-end", json.dumps(with_envelope(end)))
    await eventually(lambda: closed(centre), what="ended")
    epc = f"urn:epc:id:sgtin:4012345.000002.{serial}"
    await eventually(
        lambda: stock(rig, PARA)[0] == ("A-04", "P1", str(serial), epc, 1),
        what="booked where it lies",
    )


def answers(centre: Subscriber, status: str) -> list[dict[str, object]]:
    return [
        r
        for r in centre.payloads("/cmd-result")
        if r.get("command") == "putaway" and r["status"] == status
    ]


def closed(centre: Subscriber) -> list[dict[str, object]]:
    return [
        r
        for r in centre.payloads("/cmd-result")
        if r.get("command") == "putaway" and r["status"] == "closed"
    ]


async def test_the_tag_of_a_counted_pack_put_by_its_button_joins_it_not_a_second_pack(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """Ibuprofen's code carries no serial but its packs are tagged; its home is A-04, on the
    reader's antenna 2: pressed for, then seen there, it is one pack with its tag."""
    rig = PutawayRig(tmp_path, broker)
    products = [{**p, "slots": ["A-04"]} if p["gtin"] == IBU else p for p in PRODUCTS]
    await rig.start(products=products)
    try:
        rig.scanner.scan(code(IBU, "I1", 400))
        await eventually(lambda: rig.shows("A-04", lit(Colour.GREEN, 1)), what="A-04 lit")
        await rig.press("A-04")
        await eventually(lambda: len(rig.receipts()) == 1, what="booked by the press")
        tag = sgtin96("4012345", "000001", 901)
        rig.reader.place(2, tag)  # the pack's tag, seen where it was laid
        epc = "urn:epc:id:sgtin:4012345.000001.901"
        await eventually(
            lambda: any(line[3] == epc for line in stock(rig, IBU)), what="its tag booked"
        )
        assert stock(rig, IBU) == [("A-04", "I1", "901", epc, 1), ("R-01", "R0", "", None, 2)]
        assert len(rig.receipts()) == 1
    finally:
        await rig.stop()


async def test_a_pack_of_the_shelf_put_back_where_a_counted_pack_was_pressed_for_is_returned(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """A tagged ibuprofen pack of batch I0 lies in A-04. A counted pack without a tag is
    scanned, laid there and pressed for; the I0 pack is lifted and put back: it is returned
    with its batch, and the counted pack stays what it was. Two packs lie there, two are
    booked there."""
    rig = PutawayRig(tmp_path, broker)
    products = [{**p, "slots": ["A-04"]} if p["gtin"] == IBU else p for p in PRODUCTS]
    rig.stock()
    keeper = InventoryKeeper(rig.db, {IBU: Product(IBU, "Ibuprofen 400 mg", 1, 6)}, "s1", "g1")
    epc = "urn:epc:id:sgtin:4012345.000001.905"
    shelved = Movement(MovementKind.RECEIVE, IBU, 1, "905", epc, "I0", "2031-01-31", to_slot="A-04")
    keeper.commit([shelved])
    keeper.close()
    tag = sgtin96("4012345", "000001", 905)
    rig.reader.place(2, tag)
    await rig.start(products=products)
    try:
        rig.scanner.scan(code(IBU, "I1", 400))
        await eventually(lambda: rig.shows("A-04", lit(Colour.GREEN, 1)), what="A-04 lit")
        await rig.press("A-04")
        await eventually(lambda: len(rig.receipts()) == 2, what="booked by the press")
        rig.reader.remove(tag)
        await eventually(lambda: all(x[3] != epc for x in stock(rig, IBU)), what="it is lifted")
        rig.reader.place(2, tag)
        await eventually(lambda: any(x[3] == epc for x in stock(rig, IBU)), what="put back")
        assert sorted(stock(rig, IBU)) == [
            ("A-04", "I0", "905", epc, 1),
            ("A-04", "I1", "", None, 1),
            ("R-01", "R0", "", None, 2),
        ]
        with sqlite3.connect(rig.db) as db:
            [(kind,)] = db.execute("SELECT kind FROM movements ORDER BY id DESC LIMIT 1")
        assert kind == "return"
    finally:
        await rig.stop()


async def test_a_pack_laid_in_a_slot_not_lit_for_it_is_booked_there_once_its_delivery_timed_out(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    """Lit in A-03, laid in A-04 (its red missed) and left there: once the delivery timed out,
    the pack is booked where it lies with the batch and expiry scanned."""
    clock = PassingClock()
    rig = PutawayRig(tmp_path, broker)
    await rig.start(clock)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        rig.scanner.scan(code(PARA, "P1", 300, serial="44"))
        await eventually(lambda: rig.shows("A-03", lit(Colour.GREEN, 1)), what="A-03 lit")
        rig.reader.place(2, para_tag(44))
        await eventually(lambda: rig.shows("A-04", RED), what="A-04 red: not lit for it")
        clock.pass_time(TIMEOUT)
        [timed_out] = await eventually(lambda: closed(centre), what="timed out")
        assert timed_out["how"] == "timed_out"
        epc = "urn:epc:id:sgtin:4012345.000002.44"
        await eventually(lambda: stock(rig, PARA)[0][0] == "A-04", what="booked where it lies")
        assert stock(rig, PARA)[0] == ("A-04", "P1", "44", epc, 1)
        [(kind, reason)] = sqlite3.connect(rig.db).execute(
            "SELECT kind, reason FROM movements WHERE serial = '44'"
        )
        assert kind == "receive" and "left waiting" in reason
    finally:
        await rig.stop()


async def test_a_pack_pressed_for_while_its_tag_lay_elsewhere_takes_its_tag_once_moved_there(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """Laid in A-04 (red missed), its slot A-03 pressed: booked by its code there. Moved to
    A-03, where the ledger has it, its tag joins it."""
    rig = PutawayRig(tmp_path, broker)
    await rig.start()
    try:
        rig.scanner.scan(code(PARA, "P1", 300, serial="45"))
        await eventually(lambda: rig.shows("A-03", lit(Colour.GREEN, 1)), what="A-03 lit")
        rig.reader.place(2, para_tag(45))
        await eventually(lambda: rig.shows("A-04", RED), what="A-04 red: not lit for it")
        await rig.press("A-03")
        await eventually(lambda: len(rig.receipts()) == 1, what="booked by the press")
        rig.reader.remove(para_tag(45))
        rig.reader.place(1, para_tag(45))
        epc = "urn:epc:id:sgtin:4012345.000002.45"
        await eventually(lambda: stock(rig, PARA)[0][3] == epc, what="its tag joins it")
        assert stock(rig, PARA)[0] == ("A-03", "P1", "45", epc, 1)
        assert len(rig.receipts()) == 1
    finally:
        await rig.stop()


async def test_the_red_a_pack_laid_astray_made_ends_once_it_is_booked_where_it_lies(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    """Booked in A-04 once its delivery ended, the pack is no mistake there any more: A-04
    goes dark at once, not when the mistake's 30 s (the rig's clock is the real one) ran out."""
    rig = PutawayRig(tmp_path, broker)
    await rig.start()
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        await laid_astray_and_ended(rig, centre, 47)
        await eventually(lambda: rig.shows("A-04", DARK), timeout=5, what="A-04 dark")
    finally:
        await rig.stop()


async def test_a_press_where_a_pack_lay_astray_keeps_the_slot_red_once_the_pack_is_booked(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    """A-04 pressed after the pack was laid there (nothing lit there either): that mistake's
    red runs its time, the pack booked there or not."""
    rig = PutawayRig(tmp_path, broker)
    await rig.start()
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        await laid_astray_and_ended(rig, centre, 48, press_there=True)
        await rig.shows_only("A-04", RED)
    finally:
        await rig.stop()


async def laid_astray_in_turn(rig: PutawayRig, centre: Subscriber, *serials: int) -> None:
    """Paracetamol packs lit in A-03 laid in A-04 one after the other, each tag's red there
    seen to (each a later red than the one before)."""
    for serial in serials:
        rig.scanner.scan(code(PARA, "P1", 300, serial=str(serial)))
    await eventually(lambda: rig.shows("A-03", lit(Colour.GREEN, len(serials))), what="A-03 lit")
    for seen, serial in enumerate(serials, start=1):
        rig.reader.place(2, para_tag(serial))
        await eventually(lambda n=seen: len(answers(centre, "wrong_slot")) == n, what="A-04 red")


async def moved_home(rig: PutawayRig, serial: int) -> None:
    """The pack's tag taken from where it lay to A-03, where it is lit: booked there."""
    rig.reader.remove(para_tag(serial))
    rig.reader.place(1, para_tag(serial))
    epc = f"urn:epc:id:sgtin:4012345.000002.{serial}"
    await eventually(lambda: ("A-03", epc) in [(x[0], x[3]) for x in stock(rig, PARA)])


async def test_two_packs_laid_astray_in_a_slot_end_its_red_once_both_are_booked_in_any_order(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    """71 then 72 laid in A-04; 72 moved home first, then 71: A-04 goes dark once the
    earlier pack is booked too, not when the later pack's 30 s ran out."""
    rig = PutawayRig(tmp_path, broker)
    await rig.start()
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        await laid_astray_in_turn(rig, centre, 71, 72)
        await moved_home(rig, 72)
        await rig.shows_only("A-04", RED, seconds=1)  # 71 lies there still
        await moved_home(rig, 71)
        await eventually(lambda: rig.shows("A-04", DARK), timeout=5, what="A-04 dark")
    finally:
        await rig.stop()


async def test_the_earlier_of_two_packs_laid_astray_booked_where_it_lies_ends_the_red_there(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    """81 then 82 laid in A-04; 82 moved home, then the delivery ended: 81 is booked where it
    lies and A-04 goes dark."""
    rig = PutawayRig(tmp_path, broker)
    await rig.start()
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        await laid_astray_in_turn(rig, centre, 81, 82)
        await moved_home(rig, 82)
        delivery_id = answers(centre, "lit")[0]["command_id"]
        end = {"delivery_id": delivery_id, "by": "Dr. Ruiz"}
        centre.publish(f"{PREFIX}/cmd/putaway-end", json.dumps(with_envelope(end)))
        epc = "urn:epc:id:sgtin:4012345.000002.81"
        await eventually(
            lambda: ("A-04", "P1", "81", epc, 1) in stock(rig, PARA), what="booked where it lies"
        )
        await eventually(lambda: rig.shows("A-04", DARK), timeout=5, what="A-04 dark")
    finally:
        await rig.stop()


async def test_a_pack_seen_astray_in_two_slots_in_turn_ends_both_reds_once_it_is_booked(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    """Laid in A-04, then moved to A-05 (on the reader's antenna 3), then home: booked in
    A-03, it leaves neither A-04 nor A-05 red."""
    rig = PutawayRig(tmp_path, broker)
    antennas = {"1": "A-03", "2": "A-04", "3": "A-05"}
    await rig.start(readers=[{"name": "r1", "port": rig.reader.port, "antennas": antennas}])
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        await laid_astray_in_turn(rig, centre, 91)
        rig.reader.remove(para_tag(91))
        rig.reader.place(3, para_tag(91))
        await eventually(lambda: rig.shows("A-05", RED), what="A-05 red")
        await moved_home(rig, 91)
        for slot in ("A-04", "A-05"):
            await eventually(partial(rig.shows, slot, DARK), timeout=5, what=f"{slot} dark")
    finally:
        await rig.stop()
