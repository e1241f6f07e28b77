"""`rxedge run` as its own process, as systemd runs it: started, watched in its log until a
line says it got so far, then stopped with SIGTERM (it must end with status 0)."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def logged_until(
    command: Sequence[str], log: Path, marker: str, env: Mapping[str, str] | None = None
) -> list[str]:
    """The lines `command` (a daemon) logs on stderr until one holds `marker`; then it is
    stopped with SIGTERM and must end with status 0 within 15 s."""
    with log.open("w") as stderr:
        daemon = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr, env=env
        )
    try:
        deadline = time.monotonic() + 30
        while marker not in log.read_text():
            assert daemon.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(15) == 0, log.read_text()
    finally:
        daemon.kill()
        daemon.wait(15)
    return log.read_text().splitlines()
