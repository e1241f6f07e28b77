"""What every slot's LED should show, derived from the live alarms and the stock."""

from __future__ import annotations

from collections.abc import Iterable

from drivers.modbus.lights import SlotLight
from drivers.modbus.profile import Colour, Mode
from inventory.alarms import Alarm, AlarmKind
from inventory.slot_index import SlotIndex

SHORTAGE_LIGHT = SlotLight(on=True, colour=Colour.AMBER, mode=Mode.STEADY)


def plan_lights(alarms: Iterable[Alarm], index: SlotIndex) -> dict[str, SlotLight]:
    """Slot name -> light, for every slot that should not be dark.

    A shortage lights the product's home slots (from config) and every slot still holding it,
    amber and steady, so the pharmacist sees at the shelf which drug is running low.
    """
    lights: dict[str, SlotLight] = {}
    for alarm in alarms:
        if alarm.kind is AlarmKind.SHORTAGE and alarm.live:
            holding = {line.slot for line in index.lines_of(alarm.subject)}
            slots = set(alarm.detail.get("slots", [])) | holding
            for slot in slots:
                lights[slot] = SHORTAGE_LIGHT
    return lights


def describe_light(light: SlotLight) -> str:
    """A light in words: "amber steady", "green slow blink, shows 2", "off"."""
    if not light.on:
        return "off"
    text = f"{light.colour.name.lower()} {light.mode.name.lower().replace('_', ' ')}"
    return f"{text}, shows {light.number}" if light.number else text
