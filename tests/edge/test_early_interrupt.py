"""Ctrl-C while the `rxedge` command is still loading its modules (the first second after
Enter) ends it quietly with the status of an interrupted command, as Ctrl-C does later: no
Python traceback of an import for the operator to puzzle over.

Before the command's entry point runs, the interpreter is still starting (its `site` module);
a Ctrl-C there is Python's own ("Fatal Python error: init_import_site") whatever program it
starts, so the moments varied here lie after that start, and a run that still lands in it is
tried again a little later."""

from __future__ import annotations

import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

# The console script a person types (`.venv/bin/rxedge`), made by installing pyproject.toml.
RXEDGE = Path(sys.executable).with_name("rxedge")
INTERRUPTED = (130, -signal.SIGINT)  # handled by the command, or before Python could handle it
INTERPRETER_STARTING = "init_import_site"  # CPython's words for a Ctrl-C during its own start


def _seconds(command: list[str]) -> float:
    started = time.monotonic()
    subprocess.run(command, check=True, capture_output=True)
    return time.monotonic() - started


def _interrupted_after(seconds: float, cwd: Path) -> subprocess.CompletedProcess[str]:
    process = subprocess.Popen(
        [str(RXEDGE), "demo", "--seconds", "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )
    time.sleep(seconds)  # the moment of the Ctrl-C is what is varied, not a wait for a state
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def _interrupted_once_started(seconds: float, cwd: Path) -> subprocess.CompletedProcess[str]:
    deadline = time.monotonic() + 20  # a machine loaded now starts slower than when measured
    while True:
        result = _interrupted_after(seconds, cwd)
        if INTERPRETER_STARTING not in result.stderr or time.monotonic() > deadline:
            return result  # (one still in Python's start by then fails below, with its stderr)
        seconds += 0.02


def test_ctrl_c_while_the_command_loads_ends_it_without_a_traceback(tmp_path: Path) -> None:
    # how long the interpreter takes to start, and the command to load, on this machine
    starting = statistics.median(_seconds([sys.executable, "-c", "pass"]) for _ in range(3))
    loading = statistics.median(_seconds([str(RXEDGE), "--version"]) for _ in range(3))
    moments = [starting + (loading - starting) * share for share in (0.2, 0.5, 0.8)]
    ended = [_interrupted_once_started(moment, tmp_path) for moment in moments]
    for result in ended:
        assert "Traceback" not in result.stderr, result.stderr
        assert result.returncode in INTERRUPTED, (result.returncode, result.stderr)
    assert 130 in [result.returncode for result in ended], "no Ctrl-C reached the command"
