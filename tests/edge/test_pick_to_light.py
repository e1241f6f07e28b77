"""Pick-to-light on the running daemon with real peers: pick lists from the centre over
mosquitto, LEDs read back from the Modbus simulator's registers, buttons pressed in it, packs
scanned on a pty scanner and taken from a pty reader's antenna. Every caught mistake blinks red
on its slot and leaves the ledger unchanged."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from drivers.modbus.lights import DARK, SlotLight
from drivers.modbus.profile import Colour, Mode
from edge.demo.local_broker import LocalBroker
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.pick_rig import (
    AMOX,
    IBU,
    PREFIX,
    RED,
    TAGGED,
    Rig,
    results,
    rig_fixture,
    scan_code,
    statuses,
)


@pytest.fixture
async def rig(tmp_path: Path, broker: LocalBroker) -> AsyncIterator[Rig]:
    async for made in rig_fixture(tmp_path, broker):
        yield made


async def test_a_pick_list_lights_its_slots_and_buttons_book_each_pick(
    rig: Rig, subscribe: Callable[..., Subscriber]
) -> None:
    centre = subscribe(f"{PREFIX}/cmd-result")
    pick = {"pick_id": "rx-100", "lines": [{"gtin": AMOX, "quantity": 2}], "picker": "Ana"}
    centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(pick)))
    green = SlotLight(True, Colour.GREEN, Mode.STEADY, 1)
    await eventually(lambda: statuses(centre, "rx-100") == ["accepted"], what="accepted")

    async def lit() -> bool:
        return await rig.light("A-02") == green and await rig.light("A-01") == green

    await eventually(lit, what="FEFO slots lit green with their quantities")
    expired = SlotLight(True, Colour.RED, Mode.SLOW_BLINK, 0)
    assert await rig.light("A-03") == expired, "an expired batch is not offered but held"
    await rig.shelf.press(1)  # the earliest expiry first
    await eventually(lambda: rig.picks() == [("A-02", "EARLY", "rx-100")], what="first pick")

    async def dark(slot: str) -> bool:
        return await rig.light(slot) == DARK

    await eventually(lambda: dark("A-02"), what="A-02 dark once picked")
    await rig.shelf.press(0, times=1)
    await eventually(lambda: "done" in statuses(centre, "rx-100"), what="done")
    assert rig.picks()[-1] == ("A-01", "LATE", "rx-100")
    assert statuses(centre, "rx-100") == ["accepted", "progress", "progress", "done"]
    await eventually(lambda: dark("A-01"), what="all dark when done")


async def test_every_wrong_pack_blinks_red_on_its_slot_and_books_nothing(
    rig: Rig, subscribe: Callable[..., Subscriber]
) -> None:
    centre = subscribe(f"{PREFIX}/cmd-result")
    rig.reader.place(1, TAGGED)
    await eventually(lambda: rig.movement_count() > 0 and "put_away" in str(rig.activity))
    lists = [
        {"pick_id": "rx-1", "lines": [{"gtin": AMOX, "quantity": 1}]},
        {"pick_id": "rx-2", "lines": [{"gtin": IBU, "quantity": 1, "batch": "I2"}]},
    ]
    for body in lists:
        centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(body)))
    await eventually(lambda: statuses(centre, "rx-2") == ["accepted"])
    before = rig.movement_count()
    wrong = [
        ("A-03", scan_code(AMOX, "OLD", "201031"), "expired"),
        ("A-04", scan_code(AMOX, "HELD", "300228"), "quarantined"),
        ("A-05", scan_code(AMOX, "BAD", "300331"), "recalled"),
        ("A-06", scan_code(IBU, "I1", "300131"), "wrong batch"),
    ]
    for slot, code, reason in wrong:
        rig.scanner.scan(code)
        await eventually(lambda s=slot: _is_red(rig, s), what=reason)
        found = await eventually(
            lambda r=reason: [m for m in results(centre, "rx-1") if m.get("reason") == r],
            what=f"{reason} reported",
        )
        assert found[0]["slot"] == slot and "expected" in found[0] and "seen" in found[0]
    # A tagged pack that no list wants, taken from the shelf: caught, and held as on the shelf.
    rig.reader.remove(TAGGED)
    await eventually(lambda: _is_red(rig, "A-08"), what="removed pack caught")
    await eventually(
        lambda: any(m.get("reason") == "not on the pick list" for m in results(centre, "rx-2")),
        what="the removal reported",
    )
    assert rig.movement_count() == before, "a wrong pack was booked"
    rig.reader.place(1, TAGGED)  # put back
    await eventually(lambda: _is_not_red(rig, "A-08"), what="red ends when the pack is back")
    assert rig.movement_count() == before
    # The right pack for rx-2 (batch I2) still books.
    rig.scanner.scan(scan_code(IBU, "I2", "300531"))
    await eventually(lambda: ("A-07", "I2", "rx-2") in rig.picks(), what="right batch booked")


async def _is_red(rig: Rig, slot: str) -> bool:
    return await rig.light(slot) == RED


async def _is_not_red(rig: Rig, slot: str) -> bool:
    return await rig.light(slot) != RED


async def test_bad_commands_are_answered_and_never_run(
    rig: Rig, subscribe: Callable[..., Subscriber]
) -> None:
    centre = subscribe(f"{PREFIX}/cmd-result")
    centre.publish(f"{PREFIX}/cmd/pick", b"{not json")
    centre.publish(
        f"{PREFIX}/cmd/pick",
        json.dumps(
            with_envelope(
                {"pick_id": "rx-bad", "lines": [{"gtin": "04012345123457", "quantity": 1}]}
            )
        ),
    )
    centre.publish(f"{PREFIX}/cmd/launch", b"{}")
    errors = await eventually(
        lambda: (
            [r for r in centre.payloads("/cmd-result") if r["status"] == "error"]
            if len(centre.payloads("/cmd-result")) >= 3
            else None
        ),
        what="three answers",
    )
    texts = " | ".join(str(e["error"]) for e in errors)
    assert "not JSON" in texts and "check digit" in texts and "unknown command" in texts
    assert rig.picks() == [] and rig.gateway is not None and not rig.gateway.picking


async def test_locate_and_pick_from_the_command_line(
    rig: Rig, subscribe: Callable[..., Subscriber], tmp_path: Path
) -> None:
    target = ["--broker", rig.broker.url, "--site", "s1", "--gateway", "g1"]
    locate = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "edge.cli.main",
        "locate",
        IBU,
        "--seconds",
        "2",
        *target,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(locate.communicate(), 20)
    assert locate.returncode == 0, out
    assert "A-06 (4), A-07 (4)" in out.decode()
    white = SlotLight(True, Colour.WHITE, Mode.FAST_BLINK, 4)
    await eventually(lambda: _shows(rig, "A-06", white), what="located slot lit")
    await eventually(lambda: _shows(rig, "A-06", DARK), what="dark after its time")

    pick_file = tmp_path / "rx-200.json"
    pick_file.write_text(json.dumps({"pick_id": "rx-200", "lines": [{"gtin": IBU, "quantity": 1}]}))
    picking = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "edge.cli.main",
        "pick",
        str(pick_file),
        *target,
        stdout=asyncio.subprocess.PIPE,
    )
    blue_or_green = await eventually(lambda: _lit(rig, "A-06"), what="pick lit")
    assert blue_or_green.number == 1
    await rig.shelf.press(5)
    out, _ = await asyncio.wait_for(picking.communicate(), 20)
    assert picking.returncode == 0, out
    text = out.decode()
    assert (
        "rx-200: accepted" in text and "picked 1 of 1 from A-06" in text and "rx-200: done" in text
    )


async def _shows(rig: Rig, slot: str, light: SlotLight) -> bool:
    return await rig.light(slot) == light


async def _lit(rig: Rig, slot: str) -> SlotLight | None:
    light = await rig.light(slot)
    return light if light.on else None
