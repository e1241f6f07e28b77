"""Logs under systemd: when JOURNAL_STREAM names the daemon's stderr, every line starts with its
syslog priority and carries no timestamp (journald stamps it); anywhere else lines stay human."""

from __future__ import annotations

import io
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge.service.journal import JournalFormatter, configure_logging, stderr_is_journal

ROOT = Path(__file__).resolve().parents[2]
PRIORITY = re.compile(r"^<(?P<priority>[0-7])>(?P<logger>[\w.]+): ")


def config_with_unreachable_broker(tmp_path: Path) -> Path:
    """A gateway whose broker refuses connections: the daemon logs a warning about it."""
    config = tmp_path / "gateway.toml"
    config.write_text(f"""
site = "s1"
gateway = "g1"
database = "{tmp_path / "ledger.sqlite"}"
[broker]
url = "mqtt://127.0.0.1:1"
[metrics]
listen = ""
""")
    return config


def run_daemon_logging_to(
    log: Path, config: Path, journal_stream: str, until: tuple[str, ...] = ("could not connect",)
) -> str:
    """Run the daemon with stderr to `log` until it has logged each of `until` (by default:
    warned about the broker); its log."""
    env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
    env["JOURNAL_STREAM"] = journal_stream
    with log.open("w") as stderr:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "edge.cli.main", "run", "--init", "--config", str(config)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
        )
    try:
        deadline = time.monotonic() + 30
        while not all(said in log.read_text() for said in until):
            assert daemon.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"not all of {until} in: {log.read_text()}"
            time.sleep(0.05)
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(15) == 0, log.read_text()
    finally:
        daemon.kill()
    return log.read_text()


def stream_of(path: Path) -> str:
    found = path.stat()
    return f"{found.st_dev}:{found.st_ino}"


def test_under_journald_each_line_carries_its_priority_and_no_timestamp(tmp_path: Path) -> None:
    log = tmp_path / "stderr"
    log.touch()
    text = run_daemon_logging_to(log, config_with_unreachable_broker(tmp_path), stream_of(log))
    lines = text.splitlines()
    assert lines, "the daemon logged nothing"
    for line in lines:
        found = PRIORITY.match(line)
        assert found, f"a line without its priority: {line!r}"
        # No stamp of the log's own before the message (a message may tell a time: the site's
        # clock at start).
        stamp = re.match(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d", line[found.end() :])
        assert stamp is None, f"a timestamp: {line!r}"
    priorities = {
        (found["priority"], found["logger"]) for found in map(PRIORITY.match, lines) if found
    }
    assert ("4", "sync.mqtt_session") in priorities, text  # the broker refused: a warning
    assert any(priority == "6" for priority, _ in priorities), text  # "running": info


def test_a_journal_stream_that_is_not_stderr_leaves_the_lines_for_people(tmp_path: Path) -> None:
    log = tmp_path / "stderr"
    log.touch()
    elsewhere = tmp_path / "inherited-from-a-parent"
    elsewhere.touch()
    text = run_daemon_logging_to(
        log, config_with_unreachable_broker(tmp_path), stream_of(elsewhere)
    )
    warning = next(line for line in text.splitlines() if "could not connect" in line)
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING sync.mqtt_session: ", warning)
    assert not any(PRIORITY.match(line) for line in text.splitlines()), text


def test_a_device_going_down_is_one_warning_naming_it_and_why(tmp_path: Path) -> None:
    """A reader whose port is not there and a shelf controller nobody answers for: each is
    said once, as a warning with the device's name and the reason, not again by its driver."""
    config = config_with_unreachable_broker(tmp_path)
    missing = tmp_path / "no-reader-here"
    config.write_text(
        config.read_text()
        + f'[[readers]]\nname = "r1"\nport = "{missing}"\n'
        + '[[shelves]]\nname = "A"\nhost = "127.0.0.1"\nport = 1\nslots = 4\n'
    )
    log = tmp_path / "stderr"
    text = run_daemon_logging_to(log, config, "", until=("r1 is down", "A is down"))
    for device, why in (("r1", f"cannot open {missing}"), ("A", "port not reachable")):
        said = [line for line in text.splitlines() if why in line]
        assert len(said) == 1, f"{device} down said {len(said)} times:\n" + "\n".join(said)
        assert f" WARNING edge.daemon.activity.device: {device} is down: " in said[0], said


def test_each_level_maps_to_its_syslog_priority_and_every_line_of_a_traceback_is_prefixed() -> None:
    formatter = JournalFormatter()
    levels = {
        logging.CRITICAL: "<3>",
        logging.ERROR: "<3>",
        logging.WARNING: "<4>",
        logging.INFO: "<6>",
        logging.DEBUG: "<7>",
    }
    for level, prefix in levels.items():
        record = logging.LogRecord("rxedge.x", level, __file__, 1, "hello", None, None)
        assert formatter.format(record) == f"{prefix}rxedge.x: hello"
    try:
        raise ValueError("bad")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    lines = formatter.format(record).splitlines()
    assert len(lines) > 2 and all(line.startswith("<3>") for line in lines)


def test_journal_stream_must_name_the_very_file_stderr_is(tmp_path: Path) -> None:
    target = tmp_path / "f"
    with target.open("w") as handle:
        found = os.fstat(handle.fileno())
        named = {"JOURNAL_STREAM": f"{found.st_dev}:{found.st_ino}"}
        assert stderr_is_journal(named, handle.fileno())
        assert not stderr_is_journal({"JOURNAL_STREAM": f"{found.st_dev}:1"}, handle.fileno())
        assert not stderr_is_journal({"JOURNAL_STREAM": "garbage"}, handle.fileno())
        assert not stderr_is_journal({}, handle.fileno())


def test_why_the_service_did_not_start_is_an_error_in_the_journal(tmp_path: Path) -> None:
    """The reasons `rxedge run` exits 2 at the start (no ledger there, a mistake in the file)
    reach `journalctl -p warning` as errors, not as plain lines journald files as info."""
    no_ledger = config_with_unreachable_broker(tmp_path)
    mistaken = tmp_path / "mistaken.toml"
    mistaken.write_text(no_ledger.read_text().replace("[metrics]", "[metric]"))
    for config, said in ((no_ledger, "no ledger at"), (mistaken, "metric: ")):
        log = tmp_path / "stderr"
        with log.open("w") as stderr:
            env = {**os.environ, "JOURNAL_STREAM": stream_of(log)}
            done = subprocess.run(
                [sys.executable, "-m", "edge.cli.main", "run", "--config", str(config)],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=env,
                timeout=60,
                check=False,
            )
        lines = log.read_text().splitlines()
        assert done.returncode == 2 and any(said in line for line in lines), lines
        assert all(line.startswith("<3>") for line in lines), lines


def test_log_lines_go_to_stderr_as_it_is_when_they_come(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A command that wraps stderr once it runs (to end quietly when its reader has gone) has
    its log lines wrapped too, and a stream closed since is never written to."""
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging(logging.WARNING)
    first.close()  # the stream stderr was when logging was set up
    later = io.StringIO()
    monkeypatch.setattr(sys, "stderr", later)
    logging.getLogger("edge.test").warning("a device is down")
    assert "WARNING edge.test: a device is down" in later.getvalue()
