"""Put-to-light on the running daemon with real peers: packs scanned in on pty scanners light
the slot they belong in (read back from the Modbus simulator's registers), a button pressed in
the simulator or a tag placed on the pty reader's antenna books them, a press where nothing was
lit blinks red and books nothing, refused packs blink red at the receiving station and are
reported over mosquitto, two scanners work in two colours, and a restart carries on."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from drivers.modbus.lights import DARK, SlotLight
from drivers.modbus.profile import Colour, Mode
from edge.demo.local_broker import LocalBroker
from edge.lights.light_plan import DEFAULT_PICKER_COLOURS
from sync.commands import with_envelope
from tests.clocks import PassingClock
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
    lit,
    para_tag,
    start_putaway_rig,
    stop_putaway_rig,
)


@pytest.fixture
async def rig(tmp_path: Path, broker: LocalBroker) -> AsyncIterator[PutawayRig]:
    made = await start_putaway_rig(tmp_path, broker)
    yield made
    await stop_putaway_rig(made)


def answers(centre: Subscriber, status: str) -> list[dict[str, object]]:
    return [
        r
        for r in centre.payloads("/cmd-result")
        if r.get("command") == "putaway" and r["status"] == status
    ]


async def test_a_delivery_is_lit_slot_by_slot_booked_by_button_and_tag_and_closes_its_request(
    rig: PutawayRig, subscribe: Callable[..., Subscriber]
) -> None:
    centre = subscribe(f"{PREFIX}/cmd-result", f"{PREFIX}/procurement/request")
    request_id = rig.request()[0]
    notice = {
        "delivery_id": "DESADV-1",
        "request_id": request_id,
        "lines": [{"gtin": AMOX, "quantity": 3, "batch": "B7"}, {"gtin": PARA, "quantity": 2}],
    }
    centre.publish(f"{PREFIX}/cmd/putaway", json.dumps(with_envelope(notice)))
    await eventually(lambda: answers(centre, "expected"), what="the notice accepted")
    for _ in range(3):
        rig.scanner.scan(code(AMOX, "B7", 400))
    rig.scanner.scan(code(PARA, "P1", 300, serial="41"))
    green3 = lit(Colour.GREEN, 3)
    await eventually(lambda: rig.shows("A-01", green3), what="A-01 green, 3 to put")
    await eventually(lambda: rig.shows("A-03", lit(Colour.GREEN, 1)), what="A-03 green, 1")
    assert rig.receipts() == [], "nothing is booked before it is put"
    await rig.press("A-01", times=2)
    await eventually(lambda: len(rig.receipts()) == 2, what="two presses, two packs")
    await eventually(lambda: rig.shows("A-01", lit(Colour.GREEN, 1)), what="count down")
    rig.reader.place(1, para_tag(41))  # the tagged pack laid in A-03: its tag confirms it
    await eventually(lambda: len(rig.receipts()) == 3, what="the tag books its pack")
    assert rig.receipts()[2] == ("A-03", PARA, "P1", "41", request_id)
    await eventually(lambda: rig.shows("A-03", DARK), what="A-03 dark once put")
    await rig.press("A-01")
    await eventually(lambda: rig.request()[1:] == ("received", 3), what="request received")
    assert {r[4] for r in rig.receipts()} == {request_id}
    assert all(r[:3] == ("A-01", AMOX, "B7") for r in rig.receipts() if r[1] == AMOX)
    centre.publish(
        f"{PREFIX}/cmd/putaway-end", json.dumps(with_envelope({"delivery_id": "DESADV-1"}))
    )
    [closed] = await eventually(lambda: answers(centre, "closed"), what="closed")
    amox, para = closed["lines"]  # type: ignore[misc]
    assert (amox["received"], amox["missing"], para["received"], para["missing"]) == (3, 0, 1, 1)
    assert [a["confirmed_by"] for a in answers(centre, "put")] == ["button"] * 2 + ["tag", "button"]


async def test_the_closing_report_names_the_packs_refused_and_those_left_waiting_in_their_slots(
    rig: PutawayRig, subscribe: Callable[..., Subscriber]
) -> None:
    """What the pharmacist checks the delivery by: which packs go back (and why), which slots
    hold packs lit but never confirmed; a pack scanned twice is one pack, not a refused one."""
    centre = subscribe(f"{PREFIX}/cmd-result")
    notice = {"delivery_id": "D-5", "lines": [{"gtin": AMOX, "quantity": 3, "batch": "B7"}]}
    centre.publish(f"{PREFIX}/cmd/putaway", json.dumps(with_envelope(notice)))
    await eventually(lambda: answers(centre, "expected"), what="the notice accepted")
    rig.scanner.scan(code(AMOX, "B7", 400, serial="S7"))
    rig.scanner.scan(code(AMOX, "B7", 400, serial="S7"))  # the same pack, scanned again
    rig.scanner.scan(code(AMOX, "B7", -1, serial="S8"))  # expired yesterday
    rig.scanner.scan(code(AMOX, "B7", -1, serial="S8"))  # and put back in the tote, and again
    await eventually(lambda: len(answers(centre, "refused")) == 3, what="three refusals")
    assert await rig.shows("A-01", lit(Colour.GREEN, 1)), "one pack to put"
    end = {"delivery_id": "D-5", "by": "Dr. Ruiz"}
    centre.publish(f"{PREFIX}/cmd/putaway-end", json.dumps(with_envelope(end)))
    [closed] = await eventually(lambda: answers(centre, "closed"), what="closed")
    expiry = code(AMOX, "B7", -1)[18:24]
    assert (closed["refused"], closed["waiting"]) == (1, 1)
    [refused] = closed["refused_packs"]  # type: ignore[misc]
    assert (refused["serial"], refused["reason"]) == ("S8", "expired")
    assert refused["expiry"].replace("-", "")[2:] == expiry
    [left] = closed["left_waiting"]  # type: ignore[misc]
    assert (left["gtin"], left["batch"], left["serial"], left["slot"]) == (AMOX, "B7", "S7", "A-01")


async def test_a_press_on_a_slot_that_was_not_lit_blinks_red_and_books_nothing(
    rig: PutawayRig, subscribe: Callable[..., Subscriber]
) -> None:
    centre = subscribe(f"{PREFIX}/cmd-result")
    rig.scanner.scan(code(IBU, "I1", 400))
    await eventually(lambda: rig.shows("A-05", lit(Colour.GREEN, 1)), what="A-05 lit")
    before = rig.movement_count()
    await rig.press("A-06")
    await eventually(lambda: rig.shows("A-06", RED), what="A-06 red")
    [wrong] = await eventually(lambda: answers(centre, "wrong_slot"), what="reported")
    assert wrong["slot"] == "A-06" and wrong["expected"] == ["A-05"]
    assert rig.movement_count() == before
    assert await rig.shows("A-05", lit(Colour.GREEN, 1)), "the right slot stays lit"
    await rig.press("A-05")
    await eventually(lambda: [r[:4] for r in rig.receipts()] == [("A-05", IBU, "I1", "")])


async def test_a_tag_seen_in_the_wrong_slot_blinks_red_there_and_books_once_moved(
    rig: PutawayRig, subscribe: Callable[..., Subscriber]
) -> None:
    centre = subscribe(f"{PREFIX}/cmd-result")
    rig.scanner.scan(code(PARA, "P1", 300, serial="42"))
    await eventually(lambda: rig.shows("A-03", lit(Colour.GREEN, 1)), what="A-03 lit")
    rig.reader.place(2, para_tag(42))  # laid in A-04, next to its slot
    await eventually(lambda: rig.shows("A-04", RED), what="A-04 red")
    [wrong] = await eventually(lambda: answers(centre, "wrong_slot"), what="reported")
    assert wrong["slot"] == "A-04" and rig.receipts() == []
    rig.reader.remove(para_tag(42))
    rig.reader.place(1, para_tag(42))  # moved to A-03, where it belongs
    await eventually(lambda: len(rig.receipts()) == 1, what="booked once in its slot")
    assert rig.receipts()[0][:4] == ("A-03", PARA, "P1", "42")
    await eventually(lambda: rig.shows("A-03", DARK), what="A-03 dark")
    await eventually(lambda: rig.shows("A-04", DARK), what="the red ends with the pack put")


def alarms(centre: Subscriber) -> list[dict[str, object]]:
    return [json.loads(m.payload) for m in centre.drain() if "/alarms/" in m.topic and m.payload]


@pytest.mark.parametrize(
    ("pack", "reason", "alarm"),
    [
        (code(AMOX, "B7", -2), "expired", "refused_pack"),
        (code(AMOX, "B7", 30), "short shelf life", "refused_pack"),
        (code(AMOX, "BAD", 400), "recalled", "refused_pack"),
        (code("05012345678900", "X1", 400), "unknown product", None),
        (code(AMOX, "B0", 400, serial="S1"), "duplicate serial", "duplicate_pack"),
    ],
)
async def test_a_refused_pack_blinks_red_at_the_station_is_reported_and_never_booked(
    rig: PutawayRig,
    subscribe: Callable[..., Subscriber],
    pack: str,
    reason: str,
    alarm: str | None,
) -> None:
    centre = subscribe(f"{PREFIX}/cmd-result", f"{PREFIX}/alarms/+")
    before = rig.movement_count()
    rig.scanner.scan(pack)
    await eventually(lambda: rig.shows(STATION, RED), what=f"{reason}: red at the station")
    [refused] = await eventually(lambda: answers(centre, "refused"), what="reported")
    assert refused["reason"] == reason and refused["slot"] == STATION
    if alarm is not None:
        raised = await eventually(
            lambda: [a for a in alarms(centre) if a["kind"] == alarm],
            what=f"{alarm} alarm",
        )
        assert raised[0]["detail"]["reason"] == reason  # type: ignore[index]
    else:
        assert "05012345678900" in str(refused["why"]), "the GTIN to add is named"
    assert rig.movement_count() == before


async def test_a_code_the_scan_check_refuses_blinks_red_at_the_station(
    rig: PutawayRig, subscribe: Callable[..., Subscriber]
) -> None:
    centre = subscribe(f"{PREFIX}/cmd-result")
    rig.scanner.scan(code(PARA, "P1", 300))  # paracetamol requires a serial: this one has none
    await eventually(lambda: rig.shows(STATION, RED), what="red: scan it again, or set it aside")
    assert any("serial" in a.text for a in rig.activity if a.kind == "mistake")
    rig.scanner.scan(code(PARA, "P1", 300, serial="43"))  # the pack's own code, read in full
    await eventually(lambda: rig.shows("A-03", lit(Colour.GREEN, 1)), what="lit at A-03")
    assert answers(centre, "refused") == [], "no pack was refused: the code was not read"


async def test_a_session_left_untouched_blinks_slowly_before_it_times_out_and_goes_dark(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    """The clerk walked away: the slots still waiting blink slowly, as a pick list's do, and
    a press brings them back steady; left longer, the session times out and they go dark."""
    rig = PutawayRig(tmp_path, broker)
    await rig.start(picking={"remind_after_seconds": 1.0, "timeout_seconds": 3.0})
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        rig.scanner.scan(code(IBU, "I1", 400))
        rig.scanner.scan(code(IBU, "I1", 400))
        await eventually(lambda: rig.shows("A-05", lit(Colour.GREEN, 2)), what="lit steady")
        slow = SlotLight(True, Colour.GREEN, Mode.SLOW_BLINK, 2)
        await eventually(lambda: rig.shows("A-05", slow), what="slow blink: still waiting")
        await rig.press("A-05")
        await eventually(lambda: rig.shows("A-05", lit(Colour.GREEN, 1)), what="steady again")
        await eventually(lambda: rig.shows("A-05", DARK), what="dark at the timeout")
        [closed] = await eventually(lambda: answers(centre, "closed"), what="timed out")
        assert closed["how"] == "timed_out" and closed["waiting"] == 1
    finally:
        await rig.stop()


async def test_two_scanners_put_away_at_once_in_their_own_colours(
    rig: PutawayRig, subscribe: Callable[..., Subscriber]
) -> None:
    centre = subscribe(f"{PREFIX}/cmd-result")
    rig.scanner.scan(code(AMOX, "B7", 400))
    await eventually(lambda: rig.shows("A-01", lit(Colour.GREEN, 1)), what="first colour")
    rig.scanner_2.scan(code(IBU, "I1", 400))
    await eventually(lambda: rig.shows("A-05", lit(Colour.BLUE, 1)), what="next colour")
    await eventually(lambda: sorted(a["number"] for a in answers(centre, "lit")) == [0, 1])
    await rig.press("A-05")
    await rig.press("A-01")
    await eventually(lambda: len(rig.receipts()) == 2, what="both booked")
    # Each scanner has a session of its own.
    await eventually(lambda: len({a["command_id"] for a in answers(centre, "put")}) == 2)


async def test_a_restart_mid_session_brings_the_lights_back_and_books_nothing_twice(
    tmp_path: Path, broker: LocalBroker
) -> None:
    rig = await start_putaway_rig(tmp_path, broker)
    try:
        for _ in range(3):
            rig.scanner.scan(code(AMOX, "B7", 400))
        await eventually(lambda: rig.shows("A-01", lit(Colour.GREEN, 3)))
        await rig.press("A-01")
        await eventually(lambda: len(rig.receipts()) == 1)
    finally:
        await stop_putaway_rig(rig)
    rig = await start_putaway_rig(tmp_path, broker)
    try:
        await eventually(lambda: rig.shows("A-01", lit(Colour.GREEN, 2)), what="lit again")
        assert len(rig.receipts()) == 1
        await rig.press("A-01", times=3)  # one press more than waits
        await eventually(lambda: rig.shows("A-01", DARK), what="all put")
        await eventually(lambda: len(rig.receipts()) == 3)
        assert rig.request()[1:] == ("received", 3)
    finally:
        await stop_putaway_rig(rig)


async def test_two_deliveries_at_one_scanner_each_get_the_packs_they_announced(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    clock = PassingClock()
    rig = PutawayRig(tmp_path, broker)
    await rig.start(clock)
    try:
        await both_deliveries_put(rig, clock, subscribe(f"{PREFIX}/cmd-result"))
    finally:
        await rig.stop()


async def both_deliveries_put(rig: PutawayRig, clock: PassingClock, centre: Subscriber) -> None:
    request_id = rig.request()[0]
    for delivery, batch, request in (("D-1", "B7", request_id), ("D-2", "B8", "")):
        notice = {
            "delivery_id": delivery,
            "request_id": request,
            "scanner": "goods-in",
            "lines": [{"gtin": AMOX, "quantity": 1, "batch": batch}],
        }
        centre.publish(f"{PREFIX}/cmd/putaway", json.dumps(with_envelope(notice)))
    await eventually(lambda: len(answers(centre, "expected")) == 2, what="both announced")
    rig.scanner.scan(code(AMOX, "B8", 400))  # the second delivery's batch comes out first
    rig.scanner.scan(code(AMOX, "B7", 400))
    await eventually(lambda: len(answers(centre, "lit")) == 2, what="both lit")
    assert {a["command_id"]: a["batch"] for a in answers(centre, "lit")} == {
        "D-1": "B7",
        "D-2": "B8",
    }
    number = {a["command_id"]: int(str(a["number"])) for a in answers(centre, "lit")}
    colour = {delivery: DEFAULT_PICKER_COLOURS[n] for delivery, n in number.items()}
    # One delivery at a time, the one whose pack lit the slot first: D-2, then D-1.
    await eventually(lambda: rig.shows("A-01", lit(colour["D-2"], 1)), what="D-2's pack lit")
    await rig.shows_only("A-01", lit(colour["D-2"], 1), seconds=1.5)
    await rig.press("A-01")
    await eventually(lambda: len(rig.receipts()) == 1, what="D-2's put")
    assert rig.receipts()[0][2] == "B8"
    await eventually(lambda: rig.shows("A-01", lit(colour["D-1"], 1)), what="then D-1's")
    await rig.handed_over("A-01", number["D-1"])
    await rig.press("A-01")
    await eventually(lambda: len(rig.receipts()) == 2, what="both put")
    clock.pass_time(60)  # remind_after_seconds: nothing more of either scanned meanwhile
    closed = await eventually(
        lambda: len(answers(centre, "closed")) == 2 and answers(centre, "closed")
    )
    assert {c["command_id"]: c["how"] for c in closed} == {"D-1": "done", "D-2": "done"}
    assert all(c["unexpected"] == [] for c in closed)
    assert {r[2]: r[4] for r in rig.receipts()} == {"B7": request_id, "B8": "D-2"}


async def test_a_pack_whose_batch_is_recalled_while_it_waits_is_not_booked_when_pressed(
    rig: PutawayRig, subscribe: Callable[..., Subscriber]
) -> None:
    centre = subscribe(f"{PREFIX}/cmd-result")
    rig.scanner.scan(code(AMOX, "B7", 400))
    await eventually(lambda: rig.shows("A-01", lit(Colour.GREEN, 1)), what="A-01 lit")
    recall = {"gtin": AMOX, "batch": "B7", "note": "supplier notice"}
    centre.publish(f"{PREFIX}/cmd/recall", json.dumps(with_envelope(recall)))
    # The answer to this recall: the one to the ledger's own recall of batch BAD (putaway_rig)
    # goes out from the outbox at the start, and may reach `centre` only now.
    await eventually(
        lambda: [
            r
            for r in centre.payloads("/cmd-result")
            if (r["command_id"], r["status"]) == (f"{AMOX}/B7", "recalled")
        ],
        what="B7 recalled",
    )
    before = rig.movement_count()
    await rig.press("A-01")  # the pack was laid in its slot after all
    [refused] = await eventually(lambda: answers(centre, "refused"), what="refused at the shelf")
    assert (refused["reason"], refused["slot"]) == ("recalled", "A-01")
    await eventually(lambda: rig.shows("A-01", RED), what="red: take it out again")
    assert rig.receipts() == [] and rig.movement_count() == before


async def test_a_notice_for_a_scanner_that_does_not_put_away_is_refused_naming_the_ones_that_do(
    rig: PutawayRig, subscribe: Callable[..., Subscriber]
) -> None:
    centre = subscribe(f"{PREFIX}/cmd-result")
    notice = {
        "delivery_id": "D-9",
        "scanner": "goods_in",  # a typo: its packs would never count toward it
        "lines": [{"gtin": AMOX, "quantity": 1}],
    }
    centre.publish(f"{PREFIX}/cmd/putaway", json.dumps(with_envelope(notice)))
    [error] = await eventually(lambda: answers(centre, "error"), what="refused")
    assert error["command_id"] == "D-9"
    assert "goods_in" in str(error["error"]) and "goods-in" in str(error["error"])
    assert answers(centre, "expected") == []


async def test_a_station_without_a_delivery_at_work_is_never_given_as_a_free_slot(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    """Amoxicillin's home A-01 full, every other slot of shelf A someone's home or a station:
    desk-2's station A-07 stays out of it though desk-2 has nothing open; the pack is refused."""
    fillers = [
        {"gtin": gtin, "name": f"Filler {slot}", "reorder_point": 0, "par": 1, "slots": [slot]}
        for gtin, slot in (
            ("04012345000030", "A-02"),
            ("04012345000047", "A-04"),
            ("04012345000054", "A-06"),
        )
    ]
    rig = PutawayRig(tmp_path, broker)
    await rig.start(products=[*PRODUCTS, *fillers])
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        for _ in range(4):  # A-01 holds 1 of 4: three fit
            rig.scanner.scan(code(AMOX, "B7", 400))
        [refused] = await eventually(lambda: answers(centre, "refused"), what="the fourth")
        assert refused["reason"] == "no room", refused
        assert [a["slot"] for a in answers(centre, "lit")] == ["A-01"] * 3
        assert await rig.shows("A-07", DARK)
    finally:
        await rig.stop()
