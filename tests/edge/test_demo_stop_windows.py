"""`rxedge demo` stopped in the short windows at its two ends ends as it does in between: what it
started is stopped, its files removed, its summary printed, no traceback.

At start-up (the broker coming up, the simulators, the centre, the daemon getting ready, the
web page starting): its own mosquitto is stopped however early the signal comes, and a short
summary says it was stopped during start-up. At its end, on a broker of one's own: the
clearing of the retained messages it left there is finished, and the summary says so. Run in
this process, the signal sent as the named step begins."""

from __future__ import annotations

import logging
import os
import re
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from edge.demo import local_broker
from edge.demo import run as demo_run
from edge.demo.centre import DemoCentre
from edge.demo.local_broker import LocalBroker
from edge.demo.run import Demo
from edge.demo.view import DemoView
from edge.service.stopping import run_stoppable
from firmware_sim.chafon_sim import ChafonSimulator
from tests.edge.test_demo_endings import retained_under
from tests.processes import children_named, ended

Step = Callable[..., Awaitable[Any]]


def signalled_first(step: Step, signum: int) -> Step:
    """`step`, which first sends this process `signum` (the first time it is called)."""
    sent: list[bool] = []

    async def step_after_the_signal(*args: Any) -> Any:
        if not sent:
            sent.append(True)
            os.kill(os.getpid(), signum)
        return await step(*args)

    return step_after_the_signal


# Where the signal comes: (what to patch, the name there) of the step it comes at.
STEPS: dict[str, tuple[Any, str]] = {
    "while its mosquitto is awaited to listen": (local_broker, "listens"),
    "as the simulators start": (ChafonSimulator, "start"),
    "as the centre connects": (DemoCentre, "start"),
    "while the daemon gets ready": (DemoView, "start"),
    "as the web page starts": (demo_run, "start_demo_page"),
}


@pytest.mark.parametrize("where", list(STEPS))
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_during_start_up_tidies_up_and_says_so(
    where: str,
    signum: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    owner, name = STEPS[where]
    monkeypatch.setattr(owner, name, signalled_first(getattr(owner, name), signum))
    # No metrics endpoint: a demo started beside this one (tests side by side) may take the
    # default port between this one's look at it and its daemon's start, and say so.
    monkeypatch.setattr(demo_run, "free_metrics_listen", lambda: "")
    brokers_before = set(children_named(os.getpid(), "mosquitto"))
    watched: list[int] = []
    real_listens = local_broker.listens

    async def listens(port: int) -> bool:  # notes the demo's mosquitto once it runs
        # Started, it may still show its parent's name for a moment (the kernel names a
        # program after it has closed the pipe that told its parent it started).
        deadline = time.monotonic() + 5
        while not watched and time.monotonic() < deadline:
            watched.extend(set(children_named(os.getpid(), "mosquitto")) - brokers_before)
            if not watched:
                time.sleep(0.01)  # not awaited: the signal sent must not cancel this look
        return await real_listens(port)

    if owner is not local_broker:
        monkeypatch.setattr(local_broker, "listens", listens)
    else:
        monkeypatch.setattr(local_broker, "listens", signalled_first(listens, signum))

    with caplog.at_level(logging.WARNING):
        status = run_stoppable(Demo(60, False, None, None, plain=True, web_port=0).run())
    out, err = capsys.readouterr()

    assert status == 128 + signum, out + err
    summary = out.rpartition("\nsummary\n")[2]
    assert "stopped (Ctrl-C or a signal) during start-up" in summary, out + err
    assert "Traceback" not in out + err, out + err
    # (pymodbus's warnings are silenced by the command line: the bus reports controllers itself)
    logged = [r.getMessage() for r in caplog.records if not r.name.startswith("pymodbus")]
    assert logged == []
    assert watched, "the demo's mosquitto was never seen running"
    assert all(ended(pid) for pid in watched), "the demo's mosquitto outlived it"
    ledger = re.search(r"ledger: (\S+) \(temporary", out)
    assert ledger, out
    assert not Path(ledger[1]).parent.exists(), "the demo's temporary files were left behind"


def test_a_stop_while_the_demo_clears_a_broker_of_ones_own_lets_the_clearing_finish(
    own_broker: LocalBroker, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cleared = signalled_first(demo_run.own_traces_cleared, signal.SIGINT)
    monkeypatch.setattr(demo_run, "own_traces_cleared", cleared)
    # Three seconds: the scenario ends unfinished at once, and the clearing follows.
    status = run_stoppable(Demo(3, False, None, own_broker.url, plain=True).run())
    out, err = capsys.readouterr()

    assert status == 130, out + err
    summary = out.rpartition("\nsummary\n")[2]
    said = re.search(r"broker: +(\d+) retained message\(s\) of the demo cleared", summary)
    assert said and int(said[1]) >= 1, out + err  # its status, at least
    left = retained_under(own_broker, "rxedge/v1/#")
    assert left == {}, f"left retained on the broker: {sorted(left)}"
