"""The `rxedge` command as an operator runs it, from the checkout: a process of its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RXEDGE = [sys.executable, "-m", "edge.cli"]  # the `rxedge` command's own entry point


def rxedge(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`rxedge args` run to its end (a minute at most), with `stdin` typed in: its status and
    its output as text."""
    return subprocess.run(
        [*RXEDGE, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
