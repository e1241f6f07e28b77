"""Printing benchmark results as a table, with medians of repeated runs; running a benchmark
in full or in its quick mode."""

from __future__ import annotations

import argparse
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


def run_benchmark(main: Callable[[bool], None], doc: str | None) -> None:
    """The command line of a benchmark module: `--quick` for small sizes (what the tests run:
    it shows the benchmark still works, its figures mean nothing)."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    main(parser.parse_args().quick)
