"""Devices failing under the running daemon: alarms raised after the configured time down,
cleared on return, and reading resumes; scans refused with reasons; badges name pharmacists."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from edge.daemon.activity import Activity
from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker
from edge.settings.config import parse_config
from firmware_sim.r2000_sim import R2000Simulator
from firmware_sim.scanner_sim import GS, ScannerSimulator
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator
from firmware_sim.tags import sgtin96
from firmware_sim.virtual_badge import VirtualBadge
from inventory.codes.barcodes import BarcodeError, PackScan
from tests.conftest import Subscriber, eventually

PACKS = [sgtin96("4012345", "012345", n) for n in range(1, 5)]
PREFIX = "rxedge/v1/s1/g1"


class Rig:
    def __init__(
        self,
        tmp_path: Path,
        broker: LocalBroker,
        down_alarm_seconds: float = 0.5,
        **devices: float,
    ):
        self.down_alarm_seconds = down_alarm_seconds
        self.devices = devices  # more of [devices]
        self.reader = R2000Simulator(link=tmp_path / "reader")
        self.scanner = ScannerSimulator(link=tmp_path / "scanner")
        self.shelf = ShelfControllerSimulator(slots=8)
        self.db = tmp_path / "ledger.sqlite"
        self.broker = broker
        self.activity: list[Activity] = []
        self.gateway: Gateway | None = None

    def config(self) -> dict[str, object]:
        return {
            "site": "s1",
            "gateway": "g1",
            "database": str(self.db),
            "create_database": True,
            "broker": {"url": self.broker.url},
            "presence": {"dwell_seconds": 0.5},
            "devices": {"down_alarm_seconds": self.down_alarm_seconds, **self.devices},
            "readers": [
                {"name": "r1", "port": self.reader.port, "antennas": {"1": "A-01", "2": "A-02"}}
            ],
            "scanners": [{"name": "desk-scanner", "port": self.scanner.port}],
            "badges": {"enabled": True, "reader": "Virtual PCD 00 00"},
            "pharmacists": [{"name": "Dr. Ana Ruiz", "badge": "04A1B2C3D4E5F6"}],
            "shelves": [{"name": "A", "host": "127.0.0.1", "port": self.shelf.port, "slots": 8}],
        }

    def alarms(self) -> list[tuple[str, str]]:
        with sqlite3.connect(self.db) as conn:
            return conn.execute("SELECT id, state FROM alarms ORDER BY id").fetchall()

    def kinds(self) -> list[str]:
        with sqlite3.connect(self.db) as conn:
            return [r[0] for r in conn.execute("SELECT kind FROM movements ORDER BY id")]

    def texts(self, kind: str) -> list[str]:
        return [a.text for a in self.activity if a.kind == kind]


async def running(rig: Rig) -> AsyncIterator[Rig]:
    await rig.reader.start()
    await rig.scanner.start()
    await rig.shelf.start()
    rig.reader.place(1, PACKS[0])
    rig.gateway = Gateway(parse_config(rig.config()), observer=rig.activity.append)
    task = asyncio.create_task(rig.gateway.run())
    await eventually(rig.gateway.ready.is_set)
    yield rig
    rig.gateway.stop()
    await asyncio.wait_for(task, 10)
    await rig.reader.stop()
    await rig.scanner.stop()
    await rig.shelf.stop()


@pytest.fixture
async def rig(tmp_path: Path, broker: LocalBroker) -> AsyncIterator[Rig]:
    async for running_rig in running(Rig(tmp_path, broker)):
        yield running_rig


def retained(sub: Subscriber, alarm_id: str) -> list[bytes]:
    return [m.payload for m in sub.drain() if m.topic == f"{PREFIX}/alarms/{alarm_id}"]


async def test_unplugged_reader_raises_device_down_and_clears_on_return(
    rig: Rig, subscribe: Callable[..., Subscriber]
) -> None:
    centre = subscribe(f"{PREFIX}/alarms/#")
    await eventually(lambda: rig.gateway and rig.gateway.counters["movements"] == 1)
    unplug = asyncio.create_task(rig.reader.line.unplug(2.0))
    await eventually(lambda: ("device_down-r1", "raised") in rig.alarms(), what="alarm raised")
    raised = await eventually(lambda: retained(centre, "device_down-r1"), what="published")
    assert json.loads(raised[0])["detail"]["device"] == "r1"
    rig.reader.place(1, PACKS[1])  # put on the shelf while the reader was away
    await unplug
    await eventually(lambda: ("device_down-r1", "cleared") in rig.alarms(), timeout=5)
    await eventually(lambda: b"" in retained(centre, "device_down-r1"), what="cleared message")
    await eventually(lambda: rig.kinds() == ["put_away", "put_away"], what="reading resumed")
    await asyncio.sleep(0.8)  # more than the dwell time: the first pack is still not gone
    assert rig.kinds() == ["put_away", "put_away"], "the outage was taken for a pick"


async def test_a_failing_antenna_or_a_silent_reader_is_not_taken_for_picks(rig: Rig) -> None:
    rig.reader.place(2, PACKS[1])
    await eventually(lambda: rig.kinds() == ["put_away", "put_away"], what="both packs booked")
    rig.reader.missing_antennas.add(2)  # antenna 2 fails: its pack is no longer read
    await eventually(lambda: any("r1-antenna-2:" in t for t in rig.texts("device")))
    rig.reader.silent = True  # then the reader falls silent behind its open port
    await eventually(lambda: ("device_down-r1", "raised") in rig.alarms(), timeout=15)
    assert rig.kinds() == ["put_away", "put_away"], "packs not read were taken for picks"
    rig.reader.silent = False
    rig.reader.missing_antennas.clear()
    await eventually(lambda: ("device_down-r1", "cleared") in rig.alarms(), timeout=10)
    assert rig.kinds() == ["put_away", "put_away"]


async def test_short_outage_raises_no_alarm(rig: Rig) -> None:
    await eventually(lambda: rig.gateway and rig.gateway.counters["movements"] == 1)
    await rig.reader.line.unplug(0.1)
    await eventually(lambda: any("r1 is up" in t for t in rig.texts("device")[1:]), timeout=5)
    await asyncio.sleep(0.6)
    assert ("device_down-r1", "raised") not in rig.alarms()


@pytest.fixture
async def flap_rig(tmp_path: Path, broker: LocalBroker) -> AsyncIterator[Rig]:
    """The rig with a device down alarm after 5 s, or after 3 drops within 8 s."""
    made = Rig(tmp_path, broker, 5.0, flap_drops=3, flap_window_seconds=8.0)
    async for running_rig in running(made):
        yield running_rig


async def test_a_reader_dropping_again_and_again_raises_device_down_and_clears_once_it_stays_up(
    flap_rig: Rig, subscribe: Callable[..., Subscriber]
) -> None:
    """Each drop far shorter than the down time, yet the link keeps going: the third drop
    within the window raises the alarm, saying so; it clears once the reader stayed up for
    the window, not at its first return."""
    rig = flap_rig
    centre = subscribe(f"{PREFIX}/alarms/#")
    await eventually(lambda: rig.gateway and rig.gateway.counters["movements"] == 1)
    for drop in (1, 2, 3):
        await rig.reader.line.unplug(0.1)
        await eventually(
            lambda drop=drop: sum("r1 is up" in t for t in rig.texts("device")) >= drop + 1,
            what=f"the reader back after drop {drop}",
        )
    await eventually(lambda: ("device_down-r1", "raised") in rig.alarms(), what="alarm raised")
    up_at = asyncio.get_running_loop().time()
    raised = await eventually(lambda: retained(centre, "device_down-r1"), what="published")
    reason = json.loads(raised[0])["detail"]["reason"]
    assert reason.startswith("down 3 times in 8 s (the latest: "), reason
    await asyncio.sleep(2.0)
    assert ("device_down-r1", "raised") in rig.alarms(), "cleared at its first return"
    await eventually(
        lambda: ("device_down-r1", "cleared") in rig.alarms(), timeout=15, what="cleared"
    )
    assert asyncio.get_running_loop().time() - up_at >= 8.0 - 2.0  # up since the third drop
    await eventually(lambda: b"" in retained(centre, "device_down-r1"), what="cleared message")


async def test_scans_are_read_or_refused_with_the_reason(rig: Rig) -> None:
    assert rig.gateway is not None
    await eventually(lambda: any("desk-scanner is up" in t for t in rig.texts("device")))
    rig.scanner.scan("0104012345123456" + "17260131" + "10ABC123" + GS + "21XYZ789")
    rig.scanner.scan("0104012345123456" + "10ABC12317260131")  # the GS was dropped
    # Valid GS1 (batch L2103A, no serial), refused by the product's serial policy.
    rig.scanner.scan("0104012345123456" + "17261231" + "10L2103A")
    await eventually(lambda: len(rig.gateway.events.scans) == 3, what="three scans")  # type: ignore[union-attr]
    good, bad, unserialized = rig.gateway.events.scans
    assert isinstance(good, PackScan) and good.batch == "ABC123"
    assert isinstance(bad, BarcodeError) and "GS separator" in str(bad)
    assert isinstance(unserialized, BarcodeError)
    assert "serialized product" in str(unserialized) and "'03A'" in str(unserialized)
    assert any("refused" in t for t in rig.texts("scan"))


@pytest.mark.usefixtures("pcscd")
async def test_badge_names_the_pharmacist(rig: Rig) -> None:
    badge = VirtualBadge(bytes.fromhex("04A1B2C3D4E5F6"))
    await badge.insert()
    try:
        await eventually(lambda: any("Dr. Ana Ruiz badged in" in t for t in rig.texts("badge")))
        assert rig.gateway is not None
        assert rig.gateway.badges.holders == {"Virtual PCD 00 00": "Dr. Ana Ruiz"}
    finally:
        await badge.remove()
    await eventually(lambda: rig.gateway is not None and rig.gateway.badges.holders == {})


async def test_device_alarms_live_before_a_restart_clear_when_the_devices_work_after_it(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    rig = Rig(tmp_path, broker)
    await rig.reader.start()
    await rig.scanner.start()
    await rig.shelf.start()
    gateway = Gateway(parse_config(rig.config()), observer=rig.activity.append)
    task = asyncio.create_task(gateway.run())
    try:
        await eventually(gateway.ready.is_set)
        await eventually(lambda: rig.reader.rounds > 4, what="rounds on both antennas")
        rig.reader.missing_antennas.add(2)
        await eventually(lambda: ("device_down-r1-antenna-2", "raised") in rig.alarms())
        rig.reader.silent = True
        await eventually(lambda: ("device_down-r1", "raised") in rig.alarms(), timeout=15)
        gateway.stop()  # the daemon restarts while both are down
        await asyncio.wait_for(task, 10)

        rig.reader.silent = False  # and both work again by the time it is back
        rig.reader.missing_antennas.clear()
        centre = subscribe(f"{PREFIX}/alarms/#")
        gateway = Gateway(parse_config(rig.config()), observer=rig.activity.append)
        task = asyncio.create_task(gateway.run())
        await eventually(gateway.ready.is_set)
        both = {("device_down-r1", "cleared"), ("device_down-r1-antenna-2", "cleared")}
        await eventually(lambda: both <= set(rig.alarms()), what="both alarms cleared")
        removed: set[str] = set()
        await eventually(
            lambda: (
                removed.update(m.topic for m in centre.drain() if not m.payload)
                or {f"{PREFIX}/alarms/{alarm}" for alarm, _ in both} <= removed
            ),
            what="both removed at the broker",
        )
    finally:
        gateway.stop()
        await asyncio.wait_for(task, 10)
        await rig.reader.stop()
        await rig.scanner.stop()
        await rig.shelf.stop()


async def test_device_alarms_of_devices_gone_from_the_configuration_clear_at_start(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    """A device removed or renamed in the configuration will never show that it works: its
    alarm clears at start, saying why, instead of staying live for ever."""
    rig = Rig(tmp_path, broker)
    await rig.reader.start()
    await rig.scanner.start()
    await rig.shelf.start()
    gateway = Gateway(parse_config(rig.config()), observer=rig.activity.append)
    task = asyncio.create_task(gateway.run())
    try:
        await eventually(gateway.ready.is_set)
        await eventually(lambda: rig.reader.rounds > 4, what="rounds on both antennas")
        rig.reader.missing_antennas.add(2)
        await rig.shelf.stop()
        gone = {"device_down-r1-antenna-2", "device_down-A"}
        await eventually(lambda: {(a, "raised") for a in gone} <= set(rig.alarms()))
        gateway.stop()
        await asyncio.wait_for(task, 10)

        # The second antenna taken out of the layout, shelf A renamed B (it works again).
        await rig.shelf.start()
        config = rig.config()
        config["readers"] = [{"name": "r1", "port": rig.reader.port, "antennas": {"1": "B-01"}}]
        config["shelves"] = [{"name": "B", "host": "127.0.0.1", "port": rig.shelf.port, "slots": 8}]
        centre = subscribe(f"{PREFIX}/alarms/#")
        gateway = Gateway(parse_config(config), observer=rig.activity.append)
        task = asyncio.create_task(gateway.run())
        await eventually(gateway.ready.is_set)
        await eventually(
            lambda: {(a, "cleared") for a in gone} <= set(rig.alarms()), what="both cleared"
        )
        removed: set[str] = set()
        await eventually(
            lambda: (
                removed.update(m.topic for m in centre.drain() if not m.payload)
                or {f"{PREFIX}/alarms/{alarm}" for alarm in gone} <= removed
            ),
            what="both removed at the broker",
        )
        said = " ".join(rig.texts("device"))
        assert "r1-antenna-2 is no longer in the configuration" in said
        assert "A is no longer in the configuration" in said
        assert ("device_down-B", "raised") not in rig.alarms()
    finally:
        gateway.stop()
        await asyncio.wait_for(task, 10)
        await rig.reader.stop()
        await rig.scanner.stop()
        await rig.shelf.stop()
