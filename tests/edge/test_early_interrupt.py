"""Ctrl-C while the `rxedge` command is still loading its modules (the first second after
Enter) ends it quietly with the status of an interrupted command, as Ctrl-C does later: no
Python traceback of an import for the operator to puzzle over."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

# The console script a person types (`.venv/bin/rxedge`), made by installing pyproject.toml.
RXEDGE = Path(sys.executable).with_name("rxedge")
INTERRUPTED = (130, -signal.SIGINT)  # handled by the command, or before Python could handle it


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


def test_ctrl_c_while_the_command_loads_ends_it_without_a_traceback(tmp_path: Path) -> None:
    started = time.monotonic()
    subprocess.run([str(RXEDGE), "--version"], check=True, capture_output=True)
    loading = time.monotonic() - started  # how long loading takes on this machine
    ended = [_interrupted_after(loading * share, tmp_path) for share in (0.2, 0.4, 0.6)]
    for result in ended:
        assert "Traceback" not in result.stderr, result.stderr
        assert result.returncode in INTERRUPTED, (result.returncode, result.stderr)
    assert 130 in [result.returncode for result in ended], "no Ctrl-C reached the command"
