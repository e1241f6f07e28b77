"""A shelf controller killed for 10 s under the running daemon and replaced by a blank one on the
same port: the device-down alarm is raised (ledger and retained MQTT state) and cleared on its
return, and the LEDs come back exactly as they were asked for."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from drivers.modbus.lights import DARK, Colour, Mode, SlotLight
from edge.daemon.activity import Activity
from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker
from edge.settings.config import parse_config
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator
from tests.conftest import Subscriber, eventually

PREFIX = "rxedge/v1/s1/g1"
SLOTS = 8
OUTAGE = 10.0  # seconds the controller stays dead
LIT = {
    "A-02": SlotLight(True, Colour.AMBER, Mode.STEADY, 0),  # what a shortage looks like
    "A-05": SlotLight(True, Colour.GREEN, Mode.SLOW_BLINK, 3),
    "A-08": SlotLight(True, Colour.RED, Mode.FAST_BLINK, 0),
}
WANTED = [LIT.get(f"A-{i + 1:02d}", DARK) for i in range(SLOTS)]


def port_outside_ephemeral_range() -> int:
    """A free port that no outgoing connection can be given while the controller is dead, so
    the replacement can listen on it again."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for port in random.sample(range(20000, low), 100):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


def alarm_states(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT id, state FROM alarms ORDER BY id").fetchall()


def ups(activity: list[Activity]) -> int:
    return sum(a.kind == "device" and a.text == "A is up" for a in activity)


def retained(sub: Subscriber, alarm_id: str) -> list[bytes]:
    return [m.payload for m in sub.drain() if m.topic == f"{PREFIX}/alarms/{alarm_id}"]


async def test_controller_killed_for_ten_seconds_raises_clears_and_gets_its_lights_back(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    shelf = ShelfControllerSimulator(slots=SLOTS, port=port_outside_ephemeral_range())
    await shelf.start()
    db = tmp_path / "ledger.sqlite"
    activity: list[Activity] = []
    config = parse_config(
        {
            "site": "s1",
            "gateway": "g1",
            "database": str(db),
            "create_database": True,
            "broker": {"url": broker.url},
            "devices": {"down_alarm_seconds": 1.0},
            "shelves": [{"name": "A", "host": "127.0.0.1", "port": shelf.port, "slots": SLOTS}],
        }
    )
    gateway = Gateway(config, observer=activity.append)
    task = asyncio.create_task(gateway.run())
    replacement: ShelfControllerSimulator | None = None
    try:
        await eventually(gateway.ready.is_set, what="gateway ready")
        centre = subscribe(f"{PREFIX}/alarms/#")
        for slot, light in LIT.items():
            bus, controller, index = gateway.devices.slot_lights[slot]
            bus.set_light(controller, index, light)

        async def lit(sim: ShelfControllerSimulator) -> bool:
            return await sim.lights() == WANTED

        await eventually(lambda: lit(shelf), what="lights on the controller")

        await shelf.stop()
        killed = time.monotonic()
        await eventually(lambda: ("device_down-A", "raised") in alarm_states(db), what="alarm")
        raised = await eventually(lambda: retained(centre, "device_down-A"), what="published")
        assert json.loads(raised[0])["detail"]["device"] == "A"
        await asyncio.sleep(max(0.0, killed + OUTAGE - time.monotonic()))  # the outage itself
        assert ("device_down-A", "raised") in alarm_states(db), "cleared while still dead"
        assert not bus.is_up("A")

        replacement = ShelfControllerSimulator(slots=SLOTS, port=shelf.port)  # blank registers
        await replacement.start()
        back = time.monotonic()
        await eventually(lambda: ups(activity) == 2, what="A up again")
        assert time.monotonic() - back <= 2.0, "controller back -> polling took over 2 s"
        await eventually(lambda: ("device_down-A", "cleared") in alarm_states(db), what="cleared")
        await eventually(lambda: b"" in retained(centre, "device_down-A"), what="clear published")
        await eventually(lambda: lit(replacement), what="lights restored")
        assert await replacement.lights() == WANTED
    finally:
        gateway.stop()
        await asyncio.wait_for(task, 10)
        if replacement is not None:
            await replacement.stop()
