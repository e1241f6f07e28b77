"""Printing benchmark results as a table, with medians of repeated runs."""

from __future__ import annotations

import platform
import statistics
from collections.abc import Callable
from datetime import UTC, datetime


def median_of(runs: int, measure: Callable[[], float]) -> float:
    """The median of `runs` measurements."""
    return statistics.median(measure() for _ in range(runs))


def header(title: str) -> None:
    print(f"\n== {title}")
    print(
        f"   {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
        f"Python {platform.python_version()}"
    )


def row(name: str, value: float, unit: str, ratio: float | None = None, note: str = "") -> None:
    ratio_text = f"{ratio:10.1f}x" if ratio is not None else " " * 11
    print(f"   {name:44} {value:14,.0f} {unit:10} {ratio_text}  {note}")
