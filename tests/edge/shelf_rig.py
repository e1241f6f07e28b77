"""What the pick-to-light and put-to-light rigs share: a ledger, the daemon, and real peers
(mosquitto, a pty R2000 reader, a Modbus TCP shelf controller with 8 slots, and what each rig
adds), started and stopped in order."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from drivers.modbus.lights import SlotLight
from edge.clock import Clock
from edge.daemon.activity import Activity
from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker
from edge.settings.config import parse_config
from firmware_sim.r2000_sim import R2000Simulator
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator
from tests.clocks import SteppedClock
from tests.conftest import eventually, scanners_open, subscribed


class Peer(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class ShelfRig:
    """Subclasses say what the ledger holds before the daemon starts (`stock`), the daemon's
    configuration (`config`) and the peers they add (`devices`)."""

    def __init__(self, tmp_path: Path, broker: LocalBroker):
        self.reader = R2000Simulator(link=tmp_path / "reader")
        self.shelf = ShelfControllerSimulator(slots=8)
        self.db = tmp_path / "ledger.sqlite"
        self.broker = broker
        self.activity: list[Activity] = []
        self.gateway: Gateway | None = None
        self.task: asyncio.Task[None]

    def stock(self) -> None:
        raise NotImplementedError

    def config(self, **overrides: Any) -> dict[str, object]:
        raise NotImplementedError

    def devices(self) -> Sequence[Peer]:
        """The peers between the reader and the shelf controller, in start order."""
        return ()

    async def start(self, clock: Clock | None = None, **overrides: Any) -> None:
        """The peers, then the daemon (ready); a second start in the same directory keeps
        its ledger."""
        if not self.db.exists():
            self.stock()
        for peer in self._peers():
            await peer.start()
        await self.start_daemon(clock, **overrides)

    async def start_daemon(self, clock: Clock | None = None, **overrides: Any) -> None:
        """The daemon alone (ready), with the peers as they are."""
        config = parse_config(self.config(**overrides))
        self.gateway = Gateway(config, observer=self.activity.append, clock=clock)
        self.task = asyncio.create_task(self.gateway.run())
        await eventually(self.gateway.ready.is_set)
        await subscribed(self.gateway)
        await scanners_open(self.gateway)  # a scan sent before would never be read

    async def stop_daemon(self) -> None:
        """The daemon alone; the peers go on as they were."""
        assert self.gateway is not None
        self.gateway.stop()
        await asyncio.wait_for(self.task, 10)

    async def stop(self) -> None:
        await self.stop_daemon()
        for peer in self._peers():
            await peer.stop()

    async def after_power_cut(self, seconds: float, shelf: str = "A") -> None:
        """The daemon stopped and started again with the wall clock `seconds` on (a power cut
        that long), ready once `shelf` answered its polls again and a whole round of its pick
        clock ran."""
        ups = [a.text for a in self.activity].count(f"{shelf} is up")
        await self.stop_daemon()
        back = SteppedClock()
        back.step(seconds)
        await self.start_daemon(back)
        await eventually(
            lambda: [a.text for a in self.activity].count(f"{shelf} is up") == ups + 1,
            what=f"{shelf} polled again",
        )
        await self.pick_clock_round()

    async def pick_clock_round(self) -> None:
        """A whole round of the daemon's pick clock, from its start: its tick was applied."""
        assert self.gateway is not None
        beats = self.gateway.beats.last
        for _ in range(2):
            last = beats.get("pick clock")
            await eventually(
                partial(lambda before: beats.get("pick clock") != before, last),
                what="a round of the pick clock",
            )

    async def light(self, slot: str) -> SlotLight:
        return await self.shelf.light(int(slot.split("-")[1]) - 1)

    async def shows(self, slot: str, light: SlotLight) -> bool:
        return await self.light(slot) == light

    async def shows_only(self, slot: str, light: SlotLight, seconds: float = 2.5) -> None:
        """`slot` shows `light` all along `seconds`, looked at every tenth of a second: no
        other owner's colour shows there meanwhile."""
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds
        while loop.time() < until:
            assert await self.light(slot) == light, f"{slot} shows {await self.light(slot)}"
            await asyncio.sleep(0.1)

    async def handed_over(self, slot: str, owner: int) -> None:
        """Wait until a press at `slot` counts for `owner` (its colour number): a slot's new
        owner takes presses once the short guard after a handover has passed (presses just
        after it are the previous owner's: edge.lights.shelf_lights.HANDOVER_SECONDS)."""
        gateway = self.gateway
        assert gateway is not None
        await eventually(
            lambda: gateway.lights.shown_picker(slot) == owner, what=f"{slot} handed over"
        )

    async def lights_written(self) -> None:
        """Wait until the daemon has written its whole light state to every shelf controller
        (its first pass after a start): until then a slot shows what the daemon before it left
        there, a write cut short by its stop included."""
        assert self.gateway is not None
        devices = self.gateway.devices
        controllers = {(bus, name) for bus, name, _ in devices.slot_lights.values()}
        await eventually(
            lambda: all(bus.stats(name).restores for bus, name in controllers),
            what="the lights written at start",
        )

    async def press(self, slot: str, times: int = 1) -> None:
        await self.shelf.press(int(slot.split("-")[1]) - 1, times=times)

    def movement_count(self) -> int:
        with sqlite3.connect(self.db) as db:
            return int(db.execute("SELECT count(*) FROM movements").fetchone()[0])

    def _peers(self) -> list[Peer]:
        return [self.reader, *self.devices(), self.shelf]
