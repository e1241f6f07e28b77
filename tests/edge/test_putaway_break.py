"""A clerk's break in the middle of an announced delivery, on the running daemon with real
peers (mosquitto, pty scanners, the Modbus shelf simulator): the delivery pauses rather than
closing short, its slots go dark, and the rest of its packs, scanned after the break (or after
a restart), carry on the same delivery toward its request; a delivery put in full is done,
not paused, whichever order its notice lists a batch's line and a line for any batch. Time
passes through the daemon's clock, never by waiting for the 600 s timeout."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from drivers.modbus.lights import DARK
from drivers.modbus.profile import Colour
from edge.cli.shelf_commands import describe_result
from edge.demo.local_broker import LocalBroker
from sync.commands import with_envelope
from sync.contract import validate
from tests.clocks import PassingClock
from tests.conftest import Subscriber, eventually
from tests.edge.putaway_rig import AMOX, IBU, PREFIX, PutawayRig, code, lit

DEFAULT_TIMES = {"remind_after_seconds": 120, "timeout_seconds": 600}
BREAK = 900  # longer than the timeout


def answers(centre: Subscriber, status: str) -> list[dict[str, object]]:
    return [
        r
        for r in centre.payloads("/cmd-result")
        if r.get("command") == "putaway" and r["status"] == status
    ]


def announce(centre: Subscriber, delivery_id: str, quantity: int, request_id: str = "") -> None:
    notice = {
        "delivery_id": delivery_id,
        "request_id": request_id,
        "scanner": "goods-in",
        "lines": [{"gtin": AMOX, "quantity": quantity, "batch": "B7"}],
    }
    centre.publish(f"{PREFIX}/cmd/putaway", json.dumps(with_envelope(notice)))


async def one_of_three_put(
    rig: PutawayRig, centre: Subscriber, delivery_id: str, request_id: str = ""
) -> None:
    """Three packs announced, two scanned and lit in A-01, one of them put (pressed)."""
    announce(centre, delivery_id, 3, request_id)
    await eventually(lambda: answers(centre, "expected"), what="the notice accepted")
    rig.scanner.scan(code(AMOX, "B7", 400))
    rig.scanner.scan(code(AMOX, "B7", 400))
    await eventually(lambda: rig.shows("A-01", lit(Colour.GREEN, 2)), what="two to put")
    await rig.press("A-01")


async def paused_after_a_break(centre: Subscriber, clock: PassingClock) -> dict[str, object]:
    """Left for the timeout, the delivery pauses; the clerk is back after the rest of the
    break."""
    clock.pass_time(DEFAULT_TIMES["timeout_seconds"])
    [paused] = await eventually(lambda: answers(centre, "paused"), what="paused, not closed")
    assert validate("cmd-result", paused) == [], paused
    clock.pass_time(BREAK - DEFAULT_TIMES["timeout_seconds"])
    return paused


async def closed_once_all_put(
    rig: PutawayRig, centre: Subscriber, clock: PassingClock, put: int
) -> dict[str, object]:
    """The delivery's last pack put: it closes done once nothing more of it was scanned for
    `remind_after_seconds` (an extra pack scanned meanwhile would be its excess)."""
    await eventually(lambda: len(rig.receipts()) == put, what="every pack put")
    assert answers(centre, "closed") == [], "closed before its clerk could scan an extra pack"
    clock.pass_time(DEFAULT_TIMES["remind_after_seconds"])
    [closed] = await eventually(lambda: answers(centre, "closed"), what="done")
    return closed


async def paused_with_one_put(
    rig: PutawayRig, centre: Subscriber, clock: PassingClock, delivery_id: str
) -> None:
    """Three packs announced, one put, then a break: the delivery paused."""
    await one_of_three_put(rig, centre, delivery_id)
    await eventually(lambda: len(rig.receipts()) == 1, what="one put")
    await paused_after_a_break(centre, clock)


async def test_a_break_pauses_the_delivery_and_the_rest_scanned_after_it_completes_it(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    clock = PassingClock()
    rig = PutawayRig(tmp_path, broker)
    await rig.start(clock, picking=DEFAULT_TIMES)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        request_id, status_before, _ = rig.request()
        await one_of_three_put(rig, centre, "DESADV-7", request_id)
        await eventually(lambda: rig.shows("A-01", lit(Colour.GREEN, 1)), what="one put")

        paused = await paused_after_a_break(centre, clock)
        [line] = paused["lines"]  # type: ignore[misc]
        assert (paused["put"], line["received"], line["missing"]) == (1, 1, 2)
        [left] = paused["left_waiting"]  # type: ignore[misc]
        assert left["slot"] == "A-01", "the slot that may hold a pack never confirmed"
        assert describe_result(paused).startswith("DESADV-7: paused, left untouched: 1 put, 1 lit")
        await eventually(lambda: rig.shows("A-01", DARK), what="dark during the break")
        assert answers(centre, "closed") == [], "nothing reported missing"
        assert rig.request()[1:] == (status_before, 1), "the request is not told of a shortfall"

        for _ in range(2):  # back from the break: the pack laid in A-01, and the last one
            rig.scanner.scan(code(AMOX, "B7", 400))
        await eventually(lambda: rig.shows("A-01", lit(Colour.GREEN, 2)), what="lit again")
        await rig.press("A-01", times=2)
        closed = await closed_once_all_put(rig, centre, clock, 3)
        [line] = closed["lines"]  # type: ignore[misc]
        assert (closed["how"], closed["put"], line["received"], line["missing"]) == (
            "done",
            3,
            3,
            0,
        )
        assert closed["unexpected"] == []
        assert rig.request()[1:] == ("received", 3)
        assert {r[4] for r in rig.receipts()} == {request_id}
        said = [r for r in centre.payloads("/cmd-result") if r.get("command") == "putaway"]
        assert {r["command_id"] for r in said} == {"DESADV-7"}, "one delivery, not two"
    finally:
        await rig.stop()


async def test_a_paused_delivery_stays_paused_across_a_restart_and_resumes_after_it(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    clock = PassingClock()
    rig = PutawayRig(tmp_path, broker)
    await rig.start(clock, picking=DEFAULT_TIMES)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        await paused_with_one_put(rig, centre, clock, "D-8")
        await rig.stop_daemon()
        with sqlite3.connect(rig.db) as db:
            state, body = db.execute(
                "SELECT state, body FROM putaway_sessions WHERE delivery_id = 'D-8'"
            ).fetchone()
        assert (state, json.loads(body)["paused"]) == ("open", True)

        await rig.start_daemon(clock, picking=DEFAULT_TIMES)
        await rig.lights_written()
        assert await rig.shows("A-01", DARK), "a paused delivery lights nothing at start"
        clock.pass_time(BREAK)  # a paused delivery waits for its packs, as a new notice does
        for _ in range(2):  # the pack let go at the break (not waiting any more), and the last
            rig.scanner.scan(code(AMOX, "B7", 400))
        await eventually(lambda: rig.shows("A-01", lit(Colour.GREEN, 2)), what="resumed")
        await rig.press("A-01", times=2)
        closed = await closed_once_all_put(rig, centre, clock, 3)
        assert (closed["command_id"], closed["how"], closed["put"]) == ("D-8", "done", 3)
        # Paused once: an answer whose PUBACK the stop cut off is sent again (at least once),
        # the same message, not a second pause.
        paused = {json.dumps(a, sort_keys=True) for a in answers(centre, "paused")}
        assert len(paused) == 1, paused
    finally:
        await rig.stop()


async def scanned_and_put(rig: PutawayRig, centre: Subscriber, batch: str) -> None:
    """A pack of `batch` scanned at goods-in and put in the slot lit for it."""
    put = len(rig.receipts())
    rig.scanner.scan(code(AMOX, batch, 400))
    lit_now = await eventually(lambda: answers(centre, "lit")[put:], what=f"{batch} lit")
    await rig.press(str(lit_now[0]["slot"]))
    await eventually(lambda: len(rig.receipts()) == put + 1, what=f"the {batch} pack put")


async def test_a_delivery_put_in_full_closes_done_with_each_batch_on_its_own_line(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    """The notice lists two of any batch before two of batch AX; two AX and two BX packs come
    and are put: nothing is still to come, so it closes done instead of pausing."""
    clock = PassingClock()
    rig = PutawayRig(tmp_path, broker)
    await rig.start(clock, picking=DEFAULT_TIMES)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        lines = [{"gtin": AMOX, "quantity": 2}, {"gtin": AMOX, "quantity": 2, "batch": "AX"}]
        notice = {"delivery_id": "D-12", "scanner": "goods-in", "lines": lines}
        centre.publish(f"{PREFIX}/cmd/putaway", json.dumps(with_envelope(notice)))
        await eventually(lambda: answers(centre, "expected"), what="the notice accepted")
        for batch in ("AX", "AX", "BX", "BX"):
            await scanned_and_put(rig, centre, batch)
        closed = await closed_once_all_put(rig, centre, clock, 4)
        assert validate("cmd-result", closed) == [], closed
        got = [(ln["batch"], ln["received"], ln["missing"]) for ln in closed["lines"]]  # type: ignore[attr-defined]
        assert (closed["how"], got) == ("done", [(None, 2, 0), ("AX", 2, 0)])
        assert answers(centre, "paused") == []
    finally:
        await rig.stop()


async def test_a_session_without_a_notice_still_times_out_and_goes_dark(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    clock = PassingClock()
    rig = PutawayRig(tmp_path, broker)
    await rig.start(clock, picking=DEFAULT_TIMES)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        rig.scanner.scan(code(IBU, "I1", 400))
        await eventually(lambda: rig.shows("A-05", lit(Colour.GREEN, 1)), what="lit")
        clock.pass_time(BREAK)
        [closed] = await eventually(lambda: answers(centre, "closed"), what="timed out")
        assert (closed["how"], closed["waiting"]) == ("timed_out", 1)
        await eventually(lambda: rig.shows("A-05", DARK), what="dark at the timeout")
        assert answers(centre, "paused") == []
    finally:
        await rig.stop()


async def test_a_clerk_back_at_another_scanner_resumes_the_paused_delivery(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    """Back from the break, the clerk works at the other put-away desk: the same delivery
    carries on there, not a new session of unexpected packs."""
    clock = PassingClock()
    rig = PutawayRig(tmp_path, broker)
    await rig.start(clock, picking=DEFAULT_TIMES)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        await paused_with_one_put(rig, centre, clock, "D-9")
        for _ in range(2):
            rig.scanner_2.scan(code(AMOX, "B7", 400))
        await eventually(lambda: rig.shows("A-01", lit(Colour.GREEN, 2)), what="resumed there")
        await rig.press("A-01", times=2)
        closed = await closed_once_all_put(rig, centre, clock, 3)
        assert (closed["command_id"], closed["how"], closed["put"]) == ("D-9", "done", 3)
        assert closed["unexpected"] == []
        said = [r for r in centre.payloads("/cmd-result") if r.get("command") == "putaway"]
        assert {r["command_id"] for r in said} == {"D-9"}, "one delivery, not two"
    finally:
        await rig.stop()


async def test_a_paused_delivery_takes_no_pack_from_a_clerk_at_work_at_another_desk(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    """While a delivery is paused, another clerk at work at the other desk scans the same
    product: the pack stays with that clerk's session; the paused delivery resumes when its
    own clerk comes back to the first desk, its pack waiting for the slot desk-2 has lit."""
    clock = PassingClock()
    rig = PutawayRig(tmp_path, broker)
    await rig.start(clock, picking=DEFAULT_TIMES)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        await paused_with_one_put(rig, centre, clock, "D-10")
        rig.scanner_2.scan(code(IBU, "I9", 400))  # another clerk begins at desk-2
        first = await eventually(
            lambda: [a for a in answers(centre, "lit") if a["command_id"] != "D-10"],
            what="desk-2 at work",
        )
        desk_2 = first[0]["command_id"]
        rig.scanner_2.scan(code(AMOX, "B7", 400))
        await eventually(
            lambda: [a for a in answers(centre, "lit") if a.get("gtin") == AMOX][2:],
            what="the amoxicillin pack lit at desk-2",
        )
        lit_now = [a for a in answers(centre, "lit") if a.get("gtin") == AMOX][2]
        assert lit_now["command_id"] == desk_2, lit_now
        rig.scanner.scan(code(AMOX, "B7", 400))  # D-10's clerk back at goods-in
        # Resumed, but its slot is lit for desk-2's pack: this one waits (a slot is lit for
        # one desk at a time) until desk-2's is put.
        [busy] = await eventually(lambda: answers(centre, "refused"), what="D-10 resumed")
        assert (busy["command_id"], busy["reason"]) == ("D-10", "slot busy"), busy
        await rig.press(str(lit_now["slot"]))  # desk-2's clerk puts hers
        await eventually(
            lambda: [a for a in answers(centre, "put") if a["command_id"] == desk_2],
            what="desk-2's pack put",
        )
        rig.scanner.scan(code(AMOX, "B7", 400))
        await eventually(
            lambda: answers(centre, "lit")[-1]["command_id"] == "D-10", what="D-10's pack lit"
        )
    finally:
        await rig.stop()


async def test_a_paused_delivery_is_resumed_only_by_a_pack_it_expects(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    """After the break, a product the paused delivery does not expect is scanned at its desk
    (an unannounced delivery, the next day say): it opens a session of its own and is booked
    under that, not under the paused delivery; a pack the delivery expects still resumes it."""
    clock = PassingClock()
    rig = PutawayRig(tmp_path, broker)
    await rig.start(clock, picking=DEFAULT_TIMES)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        await paused_with_one_put(rig, centre, clock, "D-11")
        rig.scanner.scan(code(IBU, "I9", 400))
        [lit_ibu] = await eventually(
            lambda: [a for a in answers(centre, "lit") if a.get("gtin") == IBU],
            what="the ibuprofen pack lit",
        )
        own = str(lit_ibu["command_id"])
        assert own.startswith("goods-in-"), "taken by the paused delivery"
        await eventually(lambda: rig.shows("A-05", lit(Colour.GREEN, 1)), what="A-05 lit")
        await rig.press("A-05")
        await eventually(lambda: len(rig.receipts()) == 2, what="the ibuprofen pack put")
        assert [r[4] for r in rig.receipts()] == ["D-11", own]

        rig.scanner.scan(code(AMOX, "B7", 400))  # D-11's own product: it carries on
        await eventually(
            lambda: answers(centre, "lit")[-1]["command_id"] == "D-11", what="D-11 resumed"
        )
    finally:
        await rig.stop()
