"""The demo's summary tells the newcomer what to do next: a step whose command failed is named
with what the command said (more time would not help), and the hint for keeping the web page up
is typed as this run was started."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge.cli.as_typed import rxedge_as_typed
from edge.demo.stock import GATEWAY, SITE

ROOT = Path(__file__).resolve().parents[2]
RXEDGE = [sys.executable, "-m", "edge.cli.main"]


def test_a_step_whose_command_was_refused_is_named_with_the_refusal_not_the_time() -> None:
    """Someone else ends the demo's stocktake while Ana sweeps the shelf: her `rxedge stocktake
    end` is refused (no stocktake is running), long before the demo's deadline."""
    demo = subprocess.Popen(
        [*RXEDGE, "demo", "--plain", "--seconds", "90"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    assert demo.stdout is not None
    try:
        seen, deadline = "", time.monotonic() + 60
        while "passes the handheld along" not in seen:
            line = demo.stdout.readline()
            assert line and time.monotonic() < deadline, seen
            seen += line
        broker = re.search(r"broker: mosquitto at (\S+)", seen)
        assert broker, seen
        target = ["--broker", broker[1], "--site", SITE, "--gateway", GATEWAY]
        ended = subprocess.run(
            [*RXEDGE, "stocktake", "end", *target, "--wait", "20"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=30,
            check=False,
        )
        assert ended.returncode == 0, ended.stdout + ended.stderr
        out = seen + demo.communicate(timeout=60)[0]
    finally:
        demo.kill()
        demo.wait()
    assert demo.returncode == 1, out
    summary = out.rpartition("\nsummary\n")[2]
    failed = re.search(r"step failed: +rxedge stocktake end: (.*)", summary)
    assert failed and failed[1].startswith("error: no stocktake is running; the last, "), summary
    assert "--seconds" not in summary, "more time is no cure for a refusal"


@pytest.mark.parametrize(
    ("started_as", "on_path", "typed"),
    [
        (".venv/bin/rxedge", False, ".venv/bin/rxedge"),  # by `make demo`
        ("{cwd}/.venv/bin/rxedge", False, ".venv/bin/rxedge"),
        ("/opt/rxedge/bin/rxedge", False, "/opt/rxedge/bin/rxedge"),
        ("{cwd}/bin/rxedge", True, "rxedge"),  # found on PATH
        ("{cwd}/edge/cli/main.py", False, ".venv/bin/rxedge"),  # python -m: as the README
    ],
)
def test_rxedge_is_typed_as_this_run_was_started(
    started_as: str,
    on_path: bool,
    typed: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    program = tmp_path / "bin" / "rxedge"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(program.parent) if on_path else os.devnull)
    assert rxedge_as_typed(started_as.format(cwd=tmp_path)) == typed
