"""What one slot's light should show, and finding the runs of slots whose registers must change."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
class SlotLight:
    """LED on or off, its colour and blink mode, and the number on the slot's display (0 blank)."""

    on: bool = False
    colour: Colour = Colour.OFF
    mode: Mode = Mode.STEADY
    number: int = 0


DARK = SlotLight()


def changed_runs(
    old: Sequence[int | None],
    new: Sequence[int],
    where: Callable[[int], bool] = lambda _value: True,
) -> list[tuple[int, list[int]]]:
    """Runs of consecutive indexes whose value differs (None: unknown, always differs) and whose
    new value satisfies `where`: [(first index, new values), ...]."""
    runs: list[tuple[int, list[int]]] = []
    start = -1
    for i, (a, b) in enumerate(zip(old, new, strict=True)):
        if a != b and where(b):
            if start < 0:
                start = i
        elif start >= 0:
            runs.append((start, list(new[start:i])))
            start = -1
    if start >= 0:
        runs.append((start, list(new[start:])))
    return runs
