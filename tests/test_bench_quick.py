"""Every benchmark still runs: each in its quick mode (small sizes, a few seconds), in a process
of its own as `make bench` runs it. A benchmark the code has outgrown fails here, not unseen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench import BENCHMARKS

ROOT = Path(__file__).resolve().parent.parent
QUICK_LIMIT = 90.0  # seconds: a quick run takes a few; this is room for a loaded machine


def test_every_benchmark_file_is_listed() -> None:
    files = {p.stem for p in (ROOT / "bench").glob("bench_*.py")}
    assert files == set(BENCHMARKS), "bench/__init__.py BENCHMARKS must name every bench_*.py"


@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_benchmark_runs_in_quick_mode(name: str) -> None:
    try:
        done = subprocess.run(
            [sys.executable, "-m", f"bench.{name}", "--quick"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=QUICK_LIMIT,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"bench.{name} --quick did not end within {QUICK_LIMIT:.0f} s: {exc.stdout}")
    assert done.returncode == 0, f"bench.{name} --quick failed:\n{done.stdout}\n{done.stderr}"
    tables = [line for line in done.stdout.splitlines() if line.startswith("== ")]
    assert tables, f"bench.{name} --quick printed no table:\n{done.stdout}"
