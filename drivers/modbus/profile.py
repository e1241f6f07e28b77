"""Register maps of shelf controllers. No common pick-to-light map exists, so each is a profile."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Colour(IntEnum):
    OFF = 0
    GREEN = 1
    RED = 2
    AMBER = 3
    BLUE = 4
    WHITE = 5


class Mode(IntEnum):
    STEADY = 0
    SLOW_BLINK = 1
    FAST_BLINK = 2


@dataclass(frozen=True, slots=True)
class RegisterMap:
    """Base addresses (protocol addresses, as sent on the wire); slot i (0-based) is base + i."""

    name: str
    led_coil: int
    colour_register: int
    mode_register: int
    number_register: int
    button_input: int
    press_counter: int
    firmware_register: int
    heartbeat_register: int


RXEDGE_PTL_V1 = RegisterMap(
    name="rxedge-ptl-v1",
    led_coil=1,
    colour_register=1001,
    mode_register=2001,
    number_register=3001,
    button_input=1,
    press_counter=1001,
    firmware_register=1,
    heartbeat_register=2,
)

PROFILES: dict[str, RegisterMap] = {RXEDGE_PTL_V1.name: RXEDGE_PTL_V1}
