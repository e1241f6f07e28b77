"""A slot several owners want, on the running daemon with real peers (mosquitto, pty GS1
scanners, a Modbus TCP shelf controller): it shows one owner at a time, a pick list before a
put-away, and a press is for the owner shown: never for the new owner just after a handover,
and on a slot red for a picker's mistake, for the list whose mistake it is."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from drivers.modbus.lights import SlotLight
from drivers.modbus.profile import Colour, Mode
from edge.demo.local_broker import LocalBroker
from firmware_sim.scanner_sim import ScannerSimulator
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind, StockStatus
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.pick_rig import (
    IBU,
    RED,
    Rig,
    results,
    scan_code,
    start_rig,
    statuses,
    stock,
    stop_rig,
)
from tests.edge.putaway_rig import AMOX, PREFIX, PutawayRig, code, lit
from tests.edge.shelf_rig import Peer

GREEN_1 = SlotLight(True, Colour.GREEN, Mode.STEADY, 1)
GREEN_2 = SlotLight(True, Colour.GREEN, Mode.STEADY, 2)
BLUE_1 = SlotLight(True, Colour.BLUE, Mode.STEADY, 1)


def send_pick(
    centre: Subscriber, pick_id: str, quantity: int, scanner: str = "", gtin: str = AMOX
) -> None:
    body = {"pick_id": pick_id, "lines": [{"gtin": gtin, "quantity": quantity}]}
    if scanner:
        body["scanner"] = scanner
    centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(body)))


def held_pack_in_a01(db: Path, batch: str) -> None:
    """A quarantined pack of Amoxicillin (`batch`) lies in A-01 among the good ones."""
    keeper = InventoryKeeper(db, {}, "s1", "g1")
    put = Movement(MovementKind.PUT_AWAY, AMOX, 1, batch=batch, expiry="2031-01-31", to_slot="A-01")
    held = Movement(
        MovementKind.QUARANTINE,
        AMOX,
        1,
        batch=batch,
        expiry="2031-01-31",
        from_slot="A-01",
        to_slot="A-01",
        to_status=StockStatus.QUARANTINED,
    )
    keeper.commit([put])
    keeper.commit([held])
    keeper.close()


def said(rig: Rig | PutawayRig, text: str) -> bool:
    return any(text in a.text for a in rig.activity)


async def two_lists_on_a01(
    rig: Rig, centre: Subscriber, scanners: tuple[str, str] = ("", "")
) -> None:
    """rx-a (older, green) holds A-02's pack and two of A-01's three; rx-b (blue) A-01's last."""
    send_pick(centre, "rx-a", 3, scanners[0])
    await eventually(lambda: statuses(centre, "rx-a") == ["accepted"])
    send_pick(centre, "rx-b", 1, scanners[1])
    await eventually(lambda: statuses(centre, "rx-b") == ["accepted"])
    await eventually(lambda: rig.shows("A-01", GREEN_2), what="the older list's green 2")


async def test_a_press_right_after_a_handover_books_nothing_for_the_new_owner(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    rig = await start_rig(tmp_path, broker)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        await two_lists_on_a01(rig, centre)
        await rig.press("A-01", times=2)
        await eventually(lambda: rig.shows("A-01", BLUE_1), interval=0.01, what="handed over")
        await rig.press("A-01")  # the green picker's press once more, as blue lights
        extra = "pressed more often than pick list rx-a wanted packs there"
        await eventually(lambda: said(rig, extra) or len(rig.picks()) > 2, what="the press")
        assert rig.picks() == [("A-01", "LATE", "rx-a")] * 2, "nothing booked for rx-b"
        assert "progress" not in statuses(centre, "rx-b")
        assert await rig.shows("A-01", BLUE_1), "blue's pack still to take"
        await rig.handed_over("A-01", 1)
        await rig.press("A-01")  # blue's picker takes her pack
        await eventually(lambda: "done" in statuses(centre, "rx-b"), what="rx-b's pick")
        assert rig.picks()[2:] == [("A-01", "LATE", "rx-b")]
    finally:
        await stop_rig(rig)


async def test_a_press_on_red_for_the_younger_lists_mistake_books_its_pick_and_once_more_none(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    stock(tmp_path / "ledger.sqlite")
    held_pack_in_a01(tmp_path / "ledger.sqlite", "Q1")
    rig = await start_rig(tmp_path, broker)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        await two_lists_on_a01(rig, centre, scanners=("hh", "desk"))
        rig.scanner.scan(scan_code(AMOX, "Q1", "310131"))  # rx-b's picker: the held pack
        await eventually(lambda: rig.shows("A-01", RED), what="red for rx-b's mistake")
        assert "mistake" in statuses(centre, "rx-b") and "mistake" not in statuses(centre, "rx-a")
        await rig.press("A-01")  # she takes a good pack and presses
        await eventually(lambda: "progress" in statuses(centre, "rx-b"), what="rx-b's pick")
        assert rig.picks() == [("A-01", "LATE", "rx-b")]
        assert "progress" not in statuses(centre, "rx-a")
        await eventually(lambda: rig.shows("A-01", GREEN_2), interval=0.01, what="rx-a's again")
        await rig.press("A-01")  # she presses once more, to be sure
        ended = "whose list or delivery has ended; nothing booked"
        await eventually(lambda: said(rig, ended) or len(rig.picks()) > 1, what="the press")
        assert rig.picks() == [("A-01", "LATE", "rx-b")], "nothing booked for rx-a"
    finally:
        await stop_rig(rig)


async def test_a_press_once_more_after_the_older_lists_red_ends_books_nothing_for_the_younger(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    stock(tmp_path / "ledger.sqlite")
    held_pack_in_a01(tmp_path / "ledger.sqlite", "Q1")
    rig = await start_rig(tmp_path, broker)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        await two_lists_on_a01(rig, centre, scanners=("desk", "hh"))
        await rig.press("A-01")  # Ana (rx-a) takes the first of her two
        await eventually(lambda: rig.shows("A-01", GREEN_1), what="her last one there")
        rig.scanner.scan(scan_code(AMOX, "Q1", "310131"))  # then the held pack
        await eventually(lambda: rig.shows("A-01", RED), what="red for rx-a's mistake")
        await rig.press("A-01")  # she takes a good pack and presses: the red ends
        await eventually(lambda: rig.shows("A-01", BLUE_1), interval=0.01, what="rx-b's turn")
        await rig.press("A-01")  # she presses once more, to be sure
        extra = "pressed more often than pick list rx-a wanted packs there"
        await eventually(lambda: said(rig, extra) or len(rig.picks()) > 2, what="the press")
        assert rig.picks() == [("A-01", "LATE", "rx-a")] * 2, "nothing booked for rx-b"
        assert "progress" not in statuses(centre, "rx-b")
        await rig.handed_over("A-01", 1)
        await rig.press("A-01")  # rx-b's picker takes her pack
        await eventually(lambda: "done" in statuses(centre, "rx-b"), what="rx-b's pick")
        assert rig.picks()[2:] == [("A-01", "LATE", "rx-b")]
    finally:
        await stop_rig(rig)


def one_more_late_pack_in_a01(db: Path) -> None:
    keeper = InventoryKeeper(db, {}, "s1", "g1")
    put = Movement(
        MovementKind.PUT_AWAY, AMOX, 1, batch="LATE", expiry="2030-12-31", to_slot="A-01"
    )
    keeper.commit([put])
    keeper.close()


@pytest.mark.parametrize("others", [0, 2], ids=["a colour free", "every colour busy"])
async def test_a_press_once_more_after_a_list_ended_books_nothing_for_a_list_begun_just_then(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber], others: int
) -> None:
    """rx-a (green) takes its last pack in A-01 and is done; A-01 shows rx-b (blue); a moment
    later rx-c begins, wanting A-01's spare pack too; Ana presses once more. The press was
    Ana's: rx-c's pack is never booked, whether rx-c got a colour nobody just let go of or,
    every other colour being busy (`others` lists on the ibuprofen), rx-a's green."""
    stock(tmp_path / "ledger.sqlite")
    one_more_late_pack_in_a01(tmp_path / "ledger.sqlite")
    rig = await start_rig(tmp_path, broker)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        await two_lists_on_a01(rig, centre)
        ibuprofen = [f"rx-ibu-{n}" for n in range(others)]
        for pick_id in ibuprofen:
            send_pick(centre, pick_id, 1, gtin=IBU)
        await eventually(lambda: all(statuses(centre, p) == ["accepted"] for p in ibuprofen))
        await rig.press("A-02")  # rx-a's earliest pack
        await eventually(lambda: "progress" in statuses(centre, "rx-a"), what="A-02 booked")
        await rig.press("A-01", times=2)
        await eventually(lambda: rig.shows("A-01", BLUE_1), interval=0.01, what="rx-b's turn")
        await eventually(lambda: "done" in statuses(centre, "rx-a"), interval=0.01)
        send_pick(centre, "rx-c", 1)
        await eventually(lambda: statuses(centre, "rx-c") == ["accepted"], interval=0.01)
        await rig.press("A-01")  # Ana, once more, to be sure
        told = "went to pick list rx-c a moment ago" if others else "has ended; nothing booked"
        await eventually(lambda: said(rig, told) or len(rig.picks()) > 3, what="the press")
        assert rig.picks() == [("A-02", "EARLY", "rx-a")] + [("A-01", "LATE", "rx-a")] * 2
        assert statuses(centre, "rx-c") == ["accepted"], "nothing booked for rx-c"
        [accepted] = results(centre, "rx-c")
        assert accepted["picker_no"] == (0 if others else 2), "green only when none else free"
    finally:
        await stop_rig(rig)


class PickAndPutRig(PutawayRig):
    """The put-to-light rig with a picking scanner as well."""

    def __init__(self, tmp_path: Path, broker: LocalBroker):
        super().__init__(tmp_path, broker)
        self.pick_scanner = ScannerSimulator(link=tmp_path / "pick-desk")

    def devices(self) -> Sequence[Peer]:
        return (*super().devices(), self.pick_scanner)

    def config(self, **overrides: Any) -> dict[str, object]:
        config = super().config(**overrides)
        scanners = config["scanners"]
        assert isinstance(scanners, list)
        config["scanners"] = [*scanners, {"name": "pick-desk", "port": self.pick_scanner.port}]
        return config

    def picks(self) -> list[tuple[str, str, str]]:
        """(slot, serial, pick list) of every pack picked, in order."""
        with sqlite3.connect(self.db) as db:
            rows = db.execute(
                "SELECT from_slot, serial, reference FROM movements WHERE kind = 'pick'"
                " AND reference != '' ORDER BY id"
            )
            return [tuple(r) for r in rows]


async def put_and_pick_on_a01(rig: PickAndPutRig, centre: Subscriber) -> None:
    """The clerk's pack C1 lit in A-01 (green, colour 0), then a pick list for A-01's pack S1
    (blue, colour 1), which goes first."""
    rig.scanner.scan(code(AMOX, "CLERK1", 400, serial="C1"))
    await eventually(lambda: rig.shows("A-01", lit(Colour.GREEN, 1)), what="the put lit")
    send_pick(centre, "rx-p", 1)
    await eventually(lambda: rig.shows("A-01", lit(Colour.BLUE, 1)), what="the pick first")


async def test_a_pick_and_a_put_away_on_one_slot_show_the_pick_first_and_a_press_books_it(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    rig = PickAndPutRig(tmp_path, broker)
    await rig.start()
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        await put_and_pick_on_a01(rig, centre)
        await rig.shows_only("A-01", lit(Colour.BLUE, 1))  # the patient's pack: no turns
        await rig.press("A-01")
        await eventually(lambda: "done" in statuses(centre, "rx-p"), what="the pick booked")
        assert rig.picks() == [("A-01", "S1", "rx-p")] and rig.receipts() == []
        await eventually(lambda: rig.shows("A-01", lit(Colour.GREEN, 1)), what="the put's turn")
        await rig.handed_over("A-01", 0)
        await rig.press("A-01")
        await eventually(lambda: rig.receipts(), what="the put booked")
        assert [r[:4] for r in rig.receipts()] == [("A-01", AMOX, "CLERK1", "C1")]
        assert len(rig.picks()) == 1
    finally:
        await rig.stop()


async def test_a_press_on_red_for_a_pickers_mistake_books_her_pick_not_the_clerks_put(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    rig = PickAndPutRig(tmp_path, broker)
    rig.stock()
    held_pack_in_a01(rig.db, "Q1")
    await rig.start()
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        await put_and_pick_on_a01(rig, centre)
        rig.pick_scanner.scan(scan_code(AMOX, "Q1", "310131"))  # the picker: the held pack
        await eventually(lambda: rig.shows("A-01", RED), what="red for the picker's mistake")
        await rig.press("A-01")  # she takes the good pack and presses
        await eventually(lambda: "progress" in statuses(centre, "rx-p"), what="her pick")
        assert rig.picks() == [("A-01", "S1", "rx-p")]
        assert rig.receipts() == [], "the clerk's pack is still in her tote"
    finally:
        await rig.stop()
