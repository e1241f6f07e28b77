"""What one slot's light should show, and the minimal Modbus writes that get it there."""

from __future__ import annotations

from dataclasses import dataclass

from drivers.modbus.profile import Colour, Mode


@dataclass(frozen=True, slots=True)
class SlotLight:
    """LED on or off, its colour and blink mode, and the number on the slot's display (0 blank)."""

    on: bool = False
    colour: Colour = Colour.OFF
    mode: Mode = Mode.STEADY
    number: int = 0


DARK = SlotLight()


def changed_runs(old: list[int], new: list[int]) -> list[tuple[int, list[int]]]:
    """Runs of consecutive indexes whose value differs: [(first index, new values), ...]."""
    runs: list[tuple[int, list[int]]] = []
    start = -1
    for i, (a, b) in enumerate(zip(old, new, strict=True)):
        if a != b:
            if start < 0:
                start = i
        elif start >= 0:
            runs.append((start, new[start:i]))
            start = -1
    if start >= 0:
        runs.append((start, new[start:]))
    return runs
