"""What every slot's LED should show, from the pick desk's cues and the live alarms.

Precedence on one slot: a mistake (red, fast blink) over the pick lists and put-aways
(its owner's colour, steady with the quantity to take or to put, slow blink once reminded)
over a located drug (white, fast blink, its usable packs there) over the alarms: an expired
batch, a pack taken wrongly or a refused pack laid on a shelf all the same (red, slow blink),
a stocktake discrepancy (blue, slow blink), a batch near expiry (amber, slow blink), a
shortage or stock-out (amber, steady).

A slot several lists or put-aways want shows one owner at a time, never taking turns: pick
lists before put-aways, and among them the one that lit the slot first (`Cue.owner_rank`: the
older pick list), until its packs there are taken or put or it ends; then the next. A press
is for the owner shown (`shown_owner`); the plan also says who is next (a held press may end
an owner's count before the ledger does) and whose mistake a red is (`LightPlan`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from drivers.modbus.lights import SlotLight
from drivers.modbus.profile import Colour, Mode
from inventory.alarms.lifecycle import Alarm, AlarmKind
from inventory.picking.outcome import COLOURED, Cue, CueKind
from inventory.stock.slot_index import SlotIndex

SHORTAGE_LIGHT = SlotLight(on=True, colour=Colour.AMBER, mode=Mode.STEADY)
NEAR_EXPIRY_LIGHT = SlotLight(on=True, colour=Colour.AMBER, mode=Mode.SLOW_BLINK)
DISCREPANCY_LIGHT = SlotLight(on=True, colour=Colour.BLUE, mode=Mode.SLOW_BLINK)
HELD_LIGHT = SlotLight(on=True, colour=Colour.RED, mode=Mode.SLOW_BLINK)  # expired, taken
MISTAKE_LIGHT = SlotLight(on=True, colour=Colour.RED, mode=Mode.FAST_BLINK)
ALARM_LIGHTS = {
    AlarmKind.SHORTAGE: SHORTAGE_LIGHT,
    AlarmKind.STOCK_OUT: SHORTAGE_LIGHT,
    AlarmKind.NEAR_EXPIRY: NEAR_EXPIRY_LIGHT,
    AlarmKind.DISCREPANCY: DISCREPANCY_LIGHT,
    AlarmKind.EXPIRED: HELD_LIGHT,
    AlarmKind.UNEXPECTED_REMOVAL: HELD_LIGHT,
    AlarmKind.REFUSED_PACK: HELD_LIGHT,  # only where one lies on a shelf (`on_shelf`)
}
# Which alarm light wins a slot several alarms want.
_RANK = {SHORTAGE_LIGHT: 0, NEAR_EXPIRY_LIGHT: 1, DISCREPANCY_LIGHT: 2, HELD_LIGHT: 3}
DEFAULT_PICKER_COLOURS = (Colour.GREEN, Colour.BLUE, Colour.WHITE, Colour.AMBER)


@dataclass(frozen=True, slots=True)
class LightPlan:
    """Every slot's light (a slot not in `lights` is dark), and whom a press there is for:
    `behind`, of a slot several owners want, the lights of those after the one it shows, the
    next first; `reds`, of a slot red for a mistake, the colour number of the pick list whose
    mistake it is (NOBODY: no list's)."""

    lights: dict[str, SlotLight] = field(default_factory=dict)
    behind: dict[str, tuple[SlotLight, ...]] = field(default_factory=dict)
    reds: dict[str, int] = field(default_factory=dict)


def plan_lights(
    alarms: Iterable[Alarm],
    index: SlotIndex,
    cues: Iterable[Cue] = (),
    colours: Sequence[Colour] = DEFAULT_PICKER_COLOURS,
) -> dict[str, SlotLight]:
    """Slot name -> light, for every slot that should not be dark."""
    return plan_slots(alarms, index, cues, colours).lights


def plan_slots(
    alarms: Iterable[Alarm],
    index: SlotIndex,
    cues: Iterable[Cue] = (),
    colours: Sequence[Colour] = DEFAULT_PICKER_COLOURS,
) -> LightPlan:
    """Every slot's light, with the owners waiting behind and whose each red is."""
    plan = LightPlan()
    lights = plan.lights
    for alarm in alarms:
        light = ALARM_LIGHTS.get(alarm.kind)
        if light is None or not alarm.live:
            continue
        if alarm.kind is AlarmKind.REFUSED_PACK and alarm.detail.get("on_shelf") is not True:
            continue  # refused at a desk: the desk's red says so for a while, nothing lies here
        listed = alarm.detail.get("slots")
        slots = {str(s) for s in listed} if isinstance(listed, list) else set()
        if isinstance(alarm.detail.get("slot"), str):
            slots.add(alarm.detail["slot"])
        if alarm.kind is AlarmKind.SHORTAGE:
            # The product's home slots (from config) and every slot still holding it.
            slots |= {line.slot for line in index.lines_of(alarm.subject)}
        for slot in slots:
            if slot not in lights or _RANK[light] > _RANK[lights[slot]]:
                lights[slot] = light
    by_slot: dict[str, list[Cue]] = {}
    for cue in cues:
        by_slot.setdefault(cue.slot, []).append(cue)
    for slot, here in by_slot.items():
        owners = _owner_lights(here, colours)
        mistakes = [c.whose for c in here if c.kind is CueKind.MISTAKE]
        if mistakes:
            lights[slot] = MISTAKE_LIGHT
            # A pick list's mistake over a put-away's red: a press there is the picker's.
            plan.reds[slot] = max(mistakes)
        elif owners:
            lights[slot] = owners[0]
        else:
            located = sum(c.number for c in here if c.kind is CueKind.LOCATE)
            lights[slot] = SlotLight(True, Colour.WHITE, Mode.FAST_BLINK, min(located, 65535))
        if len(owners) > 1:
            plan.behind[slot] = tuple(owners[1:])
    return plan


def _owner_lights(cues: list[Cue], colours: Sequence[Colour]) -> list[SlotLight]:
    """The light of each owner of one slot's cues, in the order the slot shows them (the
    lowest `owner_rank` first): its packs there summed, a slow blink once it is reminded."""
    coloured = [c for c in cues if c.kind in COLOURED]
    if len(coloured) > 1:  # most slots one owner wants with one cue: nothing to order
        coloured.sort(key=lambda c: c.owner_rank)
    mine: dict[tuple[int, int], tuple[bool, int]] = {}  # owner -> (reminded, packs)
    for cue in coloured:
        reminded, number = mine.get((cue.holder, cue.picker_no), (False, 0))
        reminded = reminded or cue.kind is CueKind.REMIND
        mine[cue.holder, cue.picker_no] = (reminded, number + cue.number)
    return [
        SlotLight(
            True,
            colours[picker_no % len(colours)],
            Mode.SLOW_BLINK if reminded else Mode.STEADY,
            min(number, 65535),
        )
        for (_, picker_no), (reminded, number) in mine.items()
    ]


def shown_owner(light: SlotLight | None, colours: Sequence[Colour]) -> int | None:
    """The colour number of the owner (a pick list, a put-away) whose light this is, or None
    for any other light. Only an owner's light is in a picker colour with a count, steady or
    slowly blinking: an alarm's shows no count, a located drug's blinks fast."""
    if (
        light is None
        or not light.on
        or not light.number
        or light.mode is Mode.FAST_BLINK
        or light.colour not in colours
    ):
        return None
    return list(colours).index(light.colour)


def describe_light(light: SlotLight) -> str:
    """A light in words: "amber steady", "green slow blink, shows 2", "off"."""
    if not light.on:
        return "off"
    text = f"{light.colour.name.lower()} {light.mode.name.lower().replace('_', ' ')}"
    return f"{text}, shows {light.number}" if light.number else text
