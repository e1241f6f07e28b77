"""systemd/rxedge.service, rxedge-web.service and rxedge-backup.service (with its timer), and the
drop-in that bounds the boot's wait for NTP: they parse, their exposure stays low, and the
daemon runs under the restriction that most often breaks a Python program (no memory both
writable and executable)."""

from __future__ import annotations

import asyncio
import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from edge.cli.exit_statuses import NOT_NOW
from edge.daemon.gateway import OPEN_AGAIN_SECONDS, OPEN_WAIT_SECONDS
from edge.demo.local_broker import LocalBroker
from edge.web.request_limits import MAX_CONNECTIONS
from firmware_sim.r2000_sim import R2000Simulator
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator
from tests.conftest import eventually
from tests.edge.daemon_config import write_daemon_config
from tests.edge.test_systemd_notify import ServiceManager, running

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "rxedge.service"
BACKUP = ROOT / "systemd" / "rxedge-backup.service"
UNITS = [UNIT, ROOT / "systemd" / "rxedge-web.service", BACKUP]
TIME_WAIT = "systemd-time-wait-sync.service"
SYSTEM_UNITS = Path("/lib/systemd/system")
MOST_EXPOSURE = 2.0
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    ANALYZE is None, reason="systemd-analyze is not installed (Debian package systemd)"
)


@needs_analyze
@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_the_unit_scores_an_exposure_of_at_most_2(unit: Path) -> None:
    assert ANALYZE is not None
    result = subprocess.run(
        [ANALYZE, "security", "--offline=yes", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found = re.search(
        rf"Overall exposure level for {re.escape(unit.name)}: (\d+\.\d+)", result.stdout
    )
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= MOST_EXPOSURE, result.stdout


@needs_analyze
@pytest.mark.parametrize("source", UNITS, ids=lambda u: u.name)
def test_the_unit_verifies_without_a_warning(tmp_path: Path, source: Path) -> None:
    assert ANALYZE is not None
    # verify also checks that the programs exist: point them at this checkout's rxedge.
    rxedge = Path(sys.executable).parent / "rxedge"
    if not rxedge.exists():
        pytest.skip(f"no rxedge script beside {sys.executable}")
    unit = tmp_path / source.name
    unit.write_text(source.read_text().replace("/opt/rxedge/.venv/bin/rxedge", str(rxedge)))
    result = subprocess.run(
        [ANALYZE, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


@needs_analyze
def test_the_backup_timer_verifies_and_runs_daily_making_up_a_missed_day(
    tmp_path: Path,
) -> None:
    assert ANALYZE is not None
    rxedge = Path(sys.executable).parent / "rxedge"
    if not rxedge.exists():
        pytest.skip(f"no rxedge script beside {sys.executable}")
    for source in (BACKUP, BACKUP.with_suffix(".timer")):
        text = source.read_text().replace("/opt/rxedge/.venv/bin/rxedge", str(rxedge))
        (tmp_path / source.name).write_text(text)
    result = subprocess.run(
        [ANALYZE, "verify", str(tmp_path / "rxedge-backup.timer")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr.strip()) == (0, ""), result.stderr
    timer = _unit_settings(BACKUP.with_suffix(".timer"))
    assert timer["Persistent"] == ["true"] and timer["WantedBy"] == ["timers.target"]
    assert len(timer["OnCalendar"]) == 1 and timer["OnCalendar"][0].startswith("*-*-* ")
    service = _unit_settings(BACKUP)
    assert service["Type"] == ["oneshot"] and service["User"] == ["rxedge"]


@needs_analyze
def test_the_drop_in_bounds_the_boots_wait_for_ntp_that_the_daemon_starts_after(
    tmp_path: Path,
) -> None:
    """Debian's systemd-time-wait-sync.service never times out, and the daemon starts after
    time-sync.target, which it holds back: where NTP is blocked the daemon would never start
    after a reboot. The drop-in beside the units gives it a few minutes, and parses."""
    assert ANALYZE is not None
    system = SYSTEM_UNITS / TIME_WAIT
    if not system.exists():
        pytest.skip(f"no {system} here")
    drop_in = ROOT / "systemd" / f"{TIME_WAIT}.d" / "rxedge.conf"
    assert "time-sync.target" in _unit_settings()["After"][0].split()
    waiting = _unit_settings(system)
    assert "time-sync.target" in waiting["Before"][0].split()
    assert waiting["TimeoutStartSec"] == ["infinity"]
    bound = _unit_settings(drop_in)["TimeoutStartSec"]
    assert len(bound) == 1 and (found := re.fullmatch(r"(\d+)min", bound[0])), bound
    assert 1 <= int(found.group(1)) <= 10
    # verify reads the drop-ins beside a unit it is given; a wrong key or value is a warning.
    shutil.copy(system, tmp_path / TIME_WAIT)
    (tmp_path / f"{TIME_WAIT}.d").mkdir()
    shutil.copy(drop_in, tmp_path / f"{TIME_WAIT}.d" / "rxedge.conf")
    result = subprocess.run(
        # --man=no: the system's unit names man pages, which a box without `man` lacks.
        [ANALYZE, "verify", "--man=no", str(tmp_path / TIME_WAIT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr.strip()) == (0, ""), result.stderr


def _unit_settings(unit: Path = UNIT) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in unit.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def test_the_unit_is_a_notify_service_with_a_watchdog_and_its_own_user() -> None:
    unit = _unit_settings()
    assert unit["Type"] == ["notify"]
    assert unit["NotifyAccess"] == ["main"]
    assert unit["WatchdogSec"] == ["30s"]
    assert unit["Restart"] == ["on-failure"]
    assert unit["User"] == ["rxedge"]
    assert unit["SupplementaryGroups"] == ["dialout"]
    assert unit["StateDirectory"] == ["rxedge"]
    assert unit["MemoryDenyWriteExecute"] == ["yes"]


def test_the_page_has_file_descriptors_for_every_connection_it_serves() -> None:
    """Each browser connection is a file descriptor: the page serves MAX_CONNECTIONS at once
    (half its file limit where that is lower), and needs as many again to turn more away
    with an answer, and to keep the ledger and the broker open, under a flood."""
    page = _unit_settings(ROOT / "systemd" / "rxedge-web.service")
    assert int(page["LimitNOFILE"][0]) >= 2 * MAX_CONNECTIONS


def test_the_unit_restarts_a_start_the_ledger_put_off_until_it_opens() -> None:
    """Exit status 2 (a wrong configuration, a damaged ledger) is left failed; 75 (the
    ledger's disk full, or locked by another program) is restarted like any failure. The
    start limit must never end those restarts: systemd counts starts in windows of
    StartLimitIntervalSec from the first, refusing one more than StartLimitBurst, and each
    such start waits for the ledger before it exits, so even with one other start in the
    window the burst is never reached. The wait ends within TimeoutStartSec, with room left
    for the last try (SQLite waits up to 5 s on a lock) and the rest of the start."""
    unit = _unit_settings()
    assert unit["Restart"] == ["on-failure"]
    assert unit["RestartPreventExitStatus"] == ["2"] and NOT_NOW == 75
    restart = float(unit["RestartSec"][0].removesuffix("s"))
    window = float(unit["StartLimitIntervalSec"][0])
    burst = int(unit["StartLimitBurst"][0])
    assert (burst - 1) * (OPEN_WAIT_SECONDS + restart) > window
    last_try, rest_of_start = 5, 30
    start_timeout = float(unit["TimeoutStartSec"][0])
    assert start_timeout >= OPEN_WAIT_SECONDS + OPEN_AGAIN_SECONDS + last_try + rest_of_start


PR_SET_MDWE = 65
PR_MDWE_REFUSE_EXEC_GAIN = 1


def _no_write_and_execute() -> None:
    """What MemoryDenyWriteExecute= asks of the kernel, applied to the child before exec."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_MDWE)")


def _kernel_refuses_exec_gain() -> bool:
    code = "import mmap; mmap.mmap(-1, 4096, prot=7)"  # read, write and execute at once
    try:
        result = subprocess.run(
            [sys.executable, "-c", code],
            preexec_fn=_no_write_and_execute,
            capture_output=True,
            timeout=30,
            check=False,
        )
    except subprocess.SubprocessError:
        return False  # the kernel has no PR_SET_MDWE (older than 6.3)
    return result.returncode != 0


async def test_the_daemon_serves_with_no_memory_both_writable_and_executable(
    broker: LocalBroker, tmp_path: Path
) -> None:
    if not _kernel_refuses_exec_gain():
        pytest.skip("this kernel cannot refuse writable-and-executable memory (PR_SET_MDWE)")
    reader = R2000Simulator(link=tmp_path / "ttyREADER0")
    shelf = ShelfControllerSimulator(slots=8)
    await reader.start()
    await shelf.start()
    config = write_daemon_config(tmp_path, broker.url, shelf.port, tmp_path / "ledger.sqlite")
    manager = ServiceManager(str(tmp_path / "notify"))
    log = tmp_path / "daemon.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "edge.cli.main", "run", "--config", str(config)],
            cwd=ROOT,
            env={**os.environ, "NOTIFY_SOCKET": manager.name, "WATCHDOG_USEC": "2000000"},
            preexec_fn=_no_write_and_execute,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        await eventually(
            running(
                process,
                log,
                lambda: manager.status_with("serving: 2 of 2 devices up, broker connected"),
            ),
            30,
            what="serving with the reader up and the broker connected",
        )
        await eventually(lambda: manager.pings(), 5, what="a watchdog ping")
        process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(process.wait, 30)
        assert code == 0, log.read_text()
    finally:
        process.kill()
        manager.close()
        await reader.stop()
        await shelf.stop()


# The driver that registers each USB serial device class (its major number) in /proc/devices.
CLASS_DRIVERS = {"ttyUSB": "usbserial", "ttyACM": "cdc_acm"}


def test_the_usb_serial_classes_the_unit_allows_have_their_drivers_loaded_at_boot() -> None:
    allowed = re.findall(r"^DeviceAllow=char-(\w+) ", UNIT.read_text(), flags=re.MULTILINE)
    modules = ROOT / "systemd" / "rxedge-serial.conf"
    loaded = [
        line for line in modules.read_text().splitlines() if line and not line.startswith("#")
    ]
    usb = [c for c in allowed if c.startswith(("ttyUSB", "ttyACM"))]
    assert usb, "the unit allows USB serial ports"
    assert sorted(CLASS_DRIVERS[c] for c in usb) == sorted(loaded)
