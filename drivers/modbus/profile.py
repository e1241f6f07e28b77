"""Register maps of shelf controllers. No common pick-to-light map exists, so each is a profile.

A profile says where each part of a slot's light lives (a plane: one coil or register per slot)
and how a `SlotLight` is encoded into it, where the buttons are and how to count their presses.
The bus writes and reads through the profile only, so a new device family is a new profile.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum

from drivers.modbus.lights import DARK, Colour, Mode, SlotLight

__all__ = [
    "BANNER_PICK_IQ",
    "COUNTER_WRAP",
    "MOST_PRESSES_PER_POLL",
    "PROFILES",
    "RXEDGE_PTL_V1",
    "Buttons",
    "Colour",
    "Mode",
    "Plane",
    "Setting",
    "ShelfProfile",
    "Table",
]

COUNTER_WRAP = 65536
# More presses than this between two polls means the counter started again (the controller
# rebooted within the cycles it may miss before being marked down): a new baseline, no presses.
MOST_PRESSES_PER_POLL = 1000


class Table(IntEnum):
    """The four Modbus data tables, numbered by the function code that reads each."""

    COILS = 1
    DISCRETE_INPUTS = 2
    HOLDING_REGISTERS = 3
    INPUT_REGISTERS = 4


@dataclass(frozen=True, slots=True)
class Plane:
    """One value per slot: slot i's at protocol address `base + i` in `table` (coils or holding
    registers); `encode` gives the value a light needs there."""

    name: str
    table: Table
    base: int
    encode: Callable[[SlotLight], int]


@dataclass(frozen=True, slots=True)
class Buttons:
    """Where the slots' buttons are read: slot i at `base + i` in `table` (discrete inputs or input
    registers). A counting input holds a press counter that wraps at 65536, so presses between two
    polls add up; otherwise it holds the touch state and each rising edge seen is one press."""

    table: Table
    base: int
    counting: bool

    def presses(self, before: Sequence[int], now: Sequence[int]) -> list[tuple[int, int]]:
        """(slot, presses) for each slot pressed between the polls that read `before` and `now`."""
        found = []
        for slot, (a, b) in enumerate(zip(before, now, strict=True)):
            count = (b - a) % COUNTER_WRAP if self.counting else int(bool(b) and not a)
            if 0 < count <= MOST_PRESSES_PER_POLL:
                found.append((slot, count))
        return found

    def latest(self, before: Sequence[int], now: Sequence[int]) -> list[int]:
        """What the next poll is counted from, for a controller known not to have restarted:
        `now`, except that a counter up to MOST_PRESSES_PER_POLL behind the one read before
        keeps that one. Such a counter went back by the arithmetic only: it was a stale answer,
        and taking it would count again the presses between it and the newer count."""
        if not self.counting:
            return list(now)
        return [
            a if 0 < (a - b) % COUNTER_WRAP <= MOST_PRESSES_PER_POLL else b
            for a, b in zip(before, now, strict=True)
        ]


@dataclass(frozen=True, slots=True)
class Setting:
    """A value a controller holds for itself (firmware version, line settings): the simulator
    serves it; the driver never writes it."""

    table: Table
    address: int
    value: int


@dataclass(frozen=True, slots=True)
class ShelfProfile:
    """A controller family's register map for `max_slots` slots at most."""

    name: str
    planes: tuple[Plane, ...]
    switch: Plane
    buttons: Buttons
    decode: Callable[[Mapping[str, int]], SlotLight]
    max_slots: int
    baudrate: int = 19200
    settings: tuple[Setting, ...] = ()
    heartbeat: Setting | None = None

    @property
    def all_planes(self) -> tuple[Plane, ...]:
        """Every plane; `switch` (what turns a slot on or off) is last."""
        return (*self.planes, self.switch)

    def encode(self, light: SlotLight) -> dict[str, int]:
        """Plane name -> the value `light` needs in it."""
        return {plane.name: plane.encode(light) for plane in self.all_planes}

    def shown(self, light: SlotLight) -> SlotLight:
        """What a controller of this family shows when asked for `light` (a family without a
        display shows no number, one without a colour for dark slots shows them plain dark)."""
        return self.decode(self.encode(light))


def _rxedge_decode(values: Mapping[str, int]) -> SlotLight:
    return SlotLight(
        bool(values["on"]), Colour(values["colour"]), Mode(values["mode"]), values["number"]
    )


RXEDGE_PTL_V1 = ShelfProfile(
    name="rxedge-ptl-v1",
    planes=(
        Plane("colour", Table.HOLDING_REGISTERS, 1001, lambda light: int(light.colour)),
        Plane("mode", Table.HOLDING_REGISTERS, 2001, lambda light: int(light.mode)),
        Plane("number", Table.HOLDING_REGISTERS, 3001, lambda light: light.number),
    ),
    switch=Plane("on", Table.COILS, 1, lambda light: int(light.on)),
    buttons=Buttons(Table.INPUT_REGISTERS, 1001, counting=True),
    decode=_rxedge_decode,
    max_slots=1000,
    settings=(Setting(Table.INPUT_REGISTERS, 1, 0x0100),),
    heartbeat=Setting(Table.INPUT_REGISTERS, 2, 0),
)

# Banner PICK-IQ devices (PTL110 pick-to-light, K30/K50 indicators): one indicator per Modbus
# device id. Colour indexes and animation codes are the family's own (see docs/modbus-profile.md).
_BANNER_COLOUR = {Colour.GREEN: 0, Colour.RED: 1, Colour.AMBER: 3, Colour.BLUE: 9, Colour.WHITE: 13}
_BANNER_COLOUR_BACK = {index: colour for colour, index in _BANNER_COLOUR.items()}
_ANIMATION_OFF, _ANIMATION_STEADY, _ANIMATION_FLASH = 0, 1, 2
_SPEED_SLOW, _SPEED_FAST = 0, 2


def _banner_colour(light: SlotLight) -> int:
    return _BANNER_COLOUR.get(light.colour, 0)


def _banner_animation(light: SlotLight) -> int:
    if not light.on or light.colour is Colour.OFF:
        return _ANIMATION_OFF
    return _ANIMATION_STEADY if light.mode is Mode.STEADY else _ANIMATION_FLASH


def _banner_decode(values: Mapping[str, int]) -> SlotLight:
    animation = values["animation"]
    if animation == _ANIMATION_OFF:
        return DARK
    colour = _BANNER_COLOUR_BACK.get(values["colour"])
    if colour is None:
        raise ValueError(f"colour index {values['colour']} is not one rxedge writes")
    if animation == _ANIMATION_STEADY:
        mode = Mode.STEADY
    else:
        mode = Mode.FAST_BLINK if values["speed"] == _SPEED_FAST else Mode.SLOW_BLINK
    return SlotLight(True, colour, mode, 0)


BANNER_PICK_IQ = ShelfProfile(
    name="banner-pick-iq",
    planes=(
        Plane("colour", Table.HOLDING_REGISTERS, 6301, _banner_colour),
        Plane(
            "speed",
            Table.HOLDING_REGISTERS,
            6305,
            lambda light: _SPEED_FAST if light.mode is Mode.FAST_BLINK else _SPEED_SLOW,
        ),
    ),
    switch=Plane("animation", Table.HOLDING_REGISTERS, 6300, _banner_animation),
    buttons=Buttons(Table.DISCRETE_INPUTS, 1, counting=False),
    decode=_banner_decode,
    max_slots=1,
    baudrate=19200,
    settings=(
        Setting(Table.HOLDING_REGISTERS, 6000, 1),  # touch sensor drives the primary output
        Setting(Table.HOLDING_REGISTERS, 6001, 0),  # touch on-delay, ms
        Setting(Table.HOLDING_REGISTERS, 6306, 0),  # flash pattern: normal (50 % duty)
        Setting(Table.HOLDING_REGISTERS, 6101, 192),  # line speed: 19200 baud
        Setting(Table.HOLDING_REGISTERS, 6102, 0),  # parity: none
        Setting(Table.HOLDING_REGISTERS, 6103, 1),  # stop bits: 1
    ),
)

PROFILES: dict[str, ShelfProfile] = {p.name: p for p in (RXEDGE_PTL_V1, BANNER_PICK_IQ)}
