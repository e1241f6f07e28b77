"""The ledger's disk filled while the daemon was stopped (a clean stop: no -wal or -shm left to
write into): the ledger is whole, so the start is put off, never failed for good. Under a
service manager the daemon tries the ledger again, says why in its status, and goes on by
itself once room is made; past its wait it exits 75, which the unit restarts. (By hand it exits
75 at once: tests/edge/test_check_config_ledger_access.py.) A real size-capped tmpfs the test
mounts, the service manager's end a notify socket of the test's own."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from edge.daemon import gateway as gateway_module
from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker
from edge.settings.config import load_config
from inventory.errors import StoreUnavailable
from inventory.ledger.store import connect
from tests.conftest import eventually
from tests.edge.test_disk_full import fill, small_disk  # noqa: F401  (a fixture)
from tests.edge.test_systemd_notify import ServiceManager, daemon, running, stop

WAITING = "waiting for the ledger: "


def waiting_status(manager: ServiceManager) -> str | None:
    return next((s for _, s in manager.statuses() if s.startswith(WAITING)), None)


def stopped_cleanly_then_filled(disk: Path, broker: LocalBroker, place: Path) -> Path:
    """A ledger closed as a clean stop leaves it, its disk then filled; the configuration."""
    db = disk / "ledger.sqlite"
    connect(db).close()
    assert sorted(p.name for p in disk.iterdir()) == ["ledger.sqlite"]
    fill(disk)
    config = place / "gateway.toml"
    config.write_text(
        f'site = "s1"\ngateway = "g1"\ndatabase = "{db}"\n'
        f'[broker]\nurl = "{broker.url}"\n[metrics]\nlisten = ""\n'
    )
    return config


async def test_under_the_service_manager_a_full_disk_at_start_is_waited_out(
    tmp_path: Path,
    small_disk: Path,  # noqa: F811
    broker: LocalBroker,
) -> None:
    config = stopped_cleanly_then_filled(small_disk, broker, tmp_path)
    manager = ServiceManager(f"@rxedge-full-{uuid.uuid4().hex}")
    log = tmp_path / "daemon.log"
    process = daemon(config, manager.name, log, 30_000_000)
    try:
        status = await eventually(
            running(process, log, lambda: waiting_status(manager)),
            timeout=30,
            what="the reason in the service's status",
        )
        assert "the file system holding it is full" in status and "make room" in status
        said = log.read_text()
        assert f"df -h {small_disk}" in said and "trying again every 5 s" in said, said
        assert manager.first("READY=1") is None, "ready without a ledger"
        (small_disk / "filler").unlink()  # logrotate, or the operator, makes room
        await eventually(
            running(process, log, lambda: manager.first("READY=1") is not None),
            timeout=30,
            what="ready once there is room, with no restart",
        )
        await stop(process, log)
    finally:
        process.kill()
        manager.close()


async def test_a_stop_while_it_waits_for_room_is_a_clean_stop(
    tmp_path: Path,
    small_disk: Path,  # noqa: F811
    broker: LocalBroker,
) -> None:
    """`systemctl stop` (or a shutdown) during the wait: exit 0 at once, as any stop, not 75
    (which would leave the unit failed and say it is started again by itself)."""
    config = stopped_cleanly_then_filled(small_disk, broker, tmp_path)
    manager = ServiceManager(f"@rxedge-full-{uuid.uuid4().hex}")
    log = tmp_path / "daemon.log"
    process = daemon(config, manager.name, log, 30_000_000)
    try:
        await eventually(
            running(process, log, lambda: waiting_status(manager)),
            timeout=30,
            what="the reason in the service's status",
        )
        await stop(process, log)  # exit 0, within a wait between two tries
        said = log.read_text()
        assert "stopped while waiting for the ledger" in said and "again by itself" not in said
        assert manager.first("READY=1") is None
    finally:
        process.kill()
        manager.close()


async def test_past_its_wait_the_start_ends_as_one_to_retry(
    tmp_path: Path,
    small_disk: Path,  # noqa: F811
    broker: LocalBroker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The wait ends well within the unit's TimeoutStartSec (tests/edge/test_service_unit.py):
    a start systemd timed out would be killed instead of exiting 75."""
    config = load_config(stopped_cleanly_then_filled(small_disk, broker, tmp_path))
    manager = ServiceManager(f"@rxedge-full-{uuid.uuid4().hex}")
    monkeypatch.setenv("NOTIFY_SOCKET", manager.name)
    monkeypatch.setattr(gateway_module, "OPEN_AGAIN_SECONDS", 0.2)
    monkeypatch.setattr(gateway_module, "OPEN_WAIT_SECONDS", 1.0)
    try:
        with pytest.raises(StoreUnavailable, match="the file system holding it is full"):
            await asyncio.wait_for(Gateway(config).run(), 20)
        assert len([s for _, s in manager.statuses() if s.startswith(WAITING)]) >= 3
    finally:
        manager.close()
