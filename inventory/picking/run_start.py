"""How the idle time of what the ledger file keeps open against the clock (pick lists, put-away
sessions) is counted across a restart: from this run's start, never from a stamp a run before
wrote. The time the daemon was not running (a restart, a power cut) is no one's idle time, and
the clock a run before stamped by need not agree with this run's: a box without a
battery-backed clock that starts before NTP has set the time finds those stamps in its future,
and would keep what they stamp open for as long as its clock is behind."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol, TypeVar


class Touched(Protocol):
    touched_at: float  # seconds, on the keeper's clock


T = TypeVar("T", bound=Touched)


class RunStart:
    """When this run first loaded, and the stamps the file held then, by key."""

    def __init__(self, seconds: Callable[[], float]):
        self._seconds = seconds
        self._at: float | None = None
        self._found: dict[str, float] = {}

    def carry_over(self, loaded: Mapping[str, T]) -> list[T]:
        """Of `loaded` (just read from the file, by key), those open at this run's first load
        and untouched since now count as touched at its start; returns them. A reload (after a
        failed commit) keeps that, while what this run touched keeps its own time."""
        if self._at is None:
            self._at = self._seconds()
            self._found = {key: item.touched_at for key, item in loaded.items()}
        carried = [item for key, item in loaded.items() if self._found.get(key) == item.touched_at]
        for item in carried:
            item.touched_at = self._at
        return carried
