"""The `process_*` metrics under the shipped unit's `ProcSubset=pid` (a /proc without
/proc/stat, mounted in a private mount namespace) as on a full /proc, agreeing with
prometheus_client's own collector where that can read them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.process_collector import ProcessCollector

from edge.service.process_figures import ProcessFigures

ROOT = Path(__file__).resolve().parents[2]
FIGURES = {
    "process_cpu_seconds_total",
    "process_virtual_memory_bytes",
    "process_resident_memory_bytes",
    "process_start_time_seconds",
    "process_open_fds",
    "process_max_fds",
}


def figures(exposition: str) -> dict[str, float]:
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def test_the_figures_agree_with_the_client_librarys_own() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    ours.register(ProcessFigures())
    ProcessCollector(registry=theirs)
    mine, reference = (
        figures(generate_latest(ours).decode()),
        figures(generate_latest(theirs).decode()),
    )
    assert set(mine) == FIGURES
    assert abs(mine["process_start_time_seconds"] - reference["process_start_time_seconds"]) < 2
    assert mine["process_start_time_seconds"] <= time.time()
    assert mine["process_resident_memory_bytes"] == pytest.approx(
        reference["process_resident_memory_bytes"], rel=0.2
    )
    assert mine["process_max_fds"] == reference["process_max_fds"]


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root for a private /proc"
)
def test_the_figures_are_there_with_only_the_processes_files_of_proc() -> None:
    snippet = (
        "from prometheus_client import CollectorRegistry, generate_latest\n"
        "from prometheus_client.process_collector import ProcessCollector\n"
        "from edge.service.process_figures import ProcessFigures\n"
        "ours, theirs = CollectorRegistry(), CollectorRegistry()\n"
        "ours.register(ProcessFigures()); ProcessCollector(registry=theirs)\n"
        "print(generate_latest(ours).decode()); print('--')\n"
        "print(generate_latest(theirs).decode())\n"
    )
    private_proc = "mount -t proc -o subset=pid proc /proc && test ! -e /proc/stat"
    script = f'{private_proc} && exec {sys.executable} -c "$0"'
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, snippet],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0 and done.stderr.startswith(("unshare:", "mount:")):
        pytest.skip(f"no private /proc here: {done.stderr.strip()}")  # a chroot, a container
    assert done.returncode == 0, done.stderr
    mine, theirs = done.stdout.split("--\n")
    assert figures(theirs) == {}, "the library's collector has nothing to say there"
    found = figures(mine)
    assert set(found) == FIGURES
    assert time.time() - 120 < found["process_start_time_seconds"] <= time.time()
