"""The shelves' lights on the wire: `lights/{shelf}` follows every change of the light plan
(the Modbus simulator's registers agree with it), conforms to the contract and stays retained
for whoever subscribes later."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from drivers.modbus.lights import SlotLight
from drivers.modbus.profile import Colour, Mode
from edge.demo.local_broker import LocalBroker
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.pick_rig import AMOX, PREFIX, Rig, rig_fixture


@pytest.fixture
async def rig(tmp_path: Path, broker: LocalBroker) -> AsyncIterator[Rig]:
    async for made in rig_fixture(tmp_path, broker):
        yield made


def slot_of(message: dict[str, object], slot: str) -> dict[str, object]:
    slots = message["slots"]
    assert isinstance(slots, list)
    return next(s for s in slots if s["slot"] == slot)


def latest(watcher: Subscriber) -> dict[str, object] | None:
    found = watcher.payloads("/lights/A")
    return found[-1] if found else None


async def test_a_pick_is_on_the_wire_as_the_controller_shows_it(
    rig: Rig, subscribe: Callable[..., Subscriber]
) -> None:
    watcher = subscribe(f"{PREFIX}/lights/+")
    first = await eventually(lambda: latest(watcher), what="the retained lights of shelf A")
    assert [s["slot"] for s in first["slots"]] == [f"A-{i:02d}" for i in range(1, 9)]
    held = {"slot": "A-03", "on": True, "colour": "red", "mode": "slow_blink", "number": 0}

    def a03_held() -> bool:  # the start's expiry sweep may come after the first message
        message = latest(watcher)
        return message is not None and slot_of(message, "A-03") == held

    await eventually(a03_held, what="the expired batch held on the wire as on the shelf")
    pick = {"pick_id": "rx-7", "lines": [{"gtin": AMOX, "quantity": 1}], "picker": "Ana"}
    watcher.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(pick)))
    green = {"slot": "A-02", "on": True, "colour": "green", "mode": "steady", "number": 1}

    def a02_green() -> bool:
        message = latest(watcher)
        return message is not None and slot_of(message, "A-02") == green

    await eventually(a02_green, what="A-02 green with 1 on the wire")
    assert await rig.light("A-02") == SlotLight(True, Colour.GREEN, Mode.STEADY, 1)
    late = subscribe(f"{PREFIX}/lights/A", client_id="late-screen")
    retained = await eventually(lambda: latest(late), what="the retained message")
    assert slot_of(retained, "A-02") == green
    await rig.shelf.press(1)

    def a02_dark() -> bool:
        message = latest(watcher)
        return message is not None and slot_of(message, "A-02")["on"] is False

    await eventually(a02_dark, what="A-02 dark on the wire once picked")
