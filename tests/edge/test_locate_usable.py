"""Locating a drug on the running daemon with real peers (mosquitto, the Modbus shelf
controller): only the slots holding usable packs light white, with the usable packs on the
display; the slots of the expired, quarantined and recalled batches keep their own light; a drug
with no usable pack lights nothing, and the centre's answer and `rxedge locate` say so."""

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
from edge.lights.light_plan import HELD_LIGHT
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.pick_rig import AMOX, IBU, PREFIX, Rig, results, rig_fixture


@pytest.fixture
async def rig(tmp_path: Path, broker: LocalBroker) -> AsyncIterator[Rig]:
    async for made in rig_fixture(tmp_path, broker):
        yield made


def white(number: int) -> SlotLight:
    return SlotLight(True, Colour.WHITE, Mode.FAST_BLINK, number)


async def locate_from_the_command_line(rig: Rig, gtin: str) -> str:
    target = ["--broker", rig.broker.url, "--site", "s1", "--gateway", "g1"]
    locate = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "edge.cli.main", "locate", gtin, "--seconds", "30", *target),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(locate.communicate(), 20)
    assert locate.returncode == 0, out
    return out.decode()


async def test_a_locate_lights_the_usable_packs_only_and_held_slots_keep_their_light(
    rig: Rig, subscribe: Callable[..., Subscriber]
) -> None:
    # The shelf: A-01 LATE (3) and A-02 EARLY (1) usable; A-03 expired (held at start, red),
    # A-04 quarantined, A-05 recalled.
    centre = subscribe(f"{PREFIX}/cmd-result")
    await eventually(lambda: rig.shows("A-03", HELD_LIGHT), what="the expired batch held, red")
    locate = {"gtin": AMOX, "command_id": "where-amox"}
    centre.publish(f"{PREFIX}/cmd/locate", json.dumps(with_envelope(locate)))
    [answer] = await eventually(lambda: results(centre, "where-amox"), what="the answer")
    assert answer["status"] == "located"
    assert answer["slots"] == [{"slot": "A-02", "quantity": 1}, {"slot": "A-01", "quantity": 3}]
    expected = {"A-01": white(3), "A-02": white(1), "A-03": HELD_LIGHT, "A-04": DARK, "A-05": DARK}

    async def shelf_as_expected() -> bool:
        return all([await rig.shows(slot, light) for slot, light in expected.items()])

    await eventually(shelf_as_expected, what="only the usable packs' slots white")

    out = await locate_from_the_command_line(rig, AMOX)
    assert f"GTIN {AMOX}: usable in A-02 (1), A-01 (3); lit for 30" in out
    assert "A-03" not in out and "A-04" not in out and "A-05" not in out
    assert await shelf_as_expected()


async def test_a_drug_with_no_usable_pack_lights_nothing_and_is_answered_so(
    rig: Rig, subscribe: Callable[..., Subscriber]
) -> None:
    centre = subscribe(f"{PREFIX}/cmd-result")
    for batch in ("I1", "I2"):  # every ibuprofen pack on the shelves held
        recall = {"gtin": IBU, "batch": batch, "note": "supplier notice"}
        centre.publish(f"{PREFIX}/cmd/recall", json.dumps(with_envelope(recall)))
        await eventually(lambda b=batch: results(centre, f"{IBU}/{b}"), what=f"{batch} recalled")

    out = await locate_from_the_command_line(rig, IBU)
    assert f"GTIN {IBU}: no usable pack on the shelves; nothing lit" in out
    [answer] = [r for r in centre.payloads("/cmd-result") if r["command"] == "locate"]
    assert answer["status"] == "located" and answer["slots"] == [] and answer["gtin"] == IBU

    # A locate sent after it lights its slot: by then, whatever the first had lit is lit too.
    later = {"gtin": AMOX, "command_id": "where-amox"}
    centre.publish(f"{PREFIX}/cmd/locate", json.dumps(with_envelope(later)))
    await eventually(lambda: rig.shows("A-01", white(3)), what="the later locate lit")
    for slot in ("A-06", "A-07"):
        assert (await rig.light(slot)).colour is not Colour.WHITE, f"{slot} lit for held packs"
