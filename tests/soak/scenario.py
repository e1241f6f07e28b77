"""What happens on the shelves during the soak, until its deadline; each activity finishes the
round it is in (packs that left come back, a sweep is confirmed) before it stops:

- packs leave the fixed readers' antennas and come back (a few of one product at a time, enough
  for a shortage and its auto-confirmed request; the packs coming back are returns, on hand
  again without delivering it), and
  packs move between antennas;
- pick lists of counted products come from the centre (cmd/pick) and are confirmed by pressing
  the lit slots' buttons on the Modbus shelf controller, as many times as each slot shows;
- the centre delivers what counted products' requests ask for: scanned in at receiving desks;
- the handheld sweeps shelf A now and then (started and ended by command); every second sweep
  finds a pack put back in the wrong slot, and the difference is confirmed;
- the broker restarts (stopped, down a few seconds, started on the same port);
- the daemon's RSS and open fds are sampled.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.modbus.profile import Colour
from edge.demo.local_broker import LocalBroker
from firmware_sim.chafon_sim import ChafonSimulator
from firmware_sim.scanner_sim import ScannerSimulator
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator
from tests.conftest import eventually
from tests.soak.centre import Centre
from tests.soak.rig import (
    ANTENNAS,
    SHELF_A_SLOTS,
    Counted,
    Daemon,
    Layout,
    ReaderFarm,
    Sample,
    TaggedPack,
    location,
    on_hand,
    picked,
)

SAMPLE_EVERY = 5.0
BROKER_DOWN_SECONDS = 3.0
LEAVING = 3  # packs of one product off the shelf at once: one more than its reorder margin
AWAY_SECONDS, BACK_SECONDS = 4.0, 3.0
PICK_PAUSE, SWEEP_EVERY = 2.0, 20.0
WAIT = 120.0  # for anything that must cross the broker: longer than any outage


def restart_interval(duration: float) -> float:
    """The broker restarts every 60 s; a shorter soak still sees it restart once."""
    return 60.0 if duration >= 120 else duration / 2


@dataclass
class Tally:
    removals: int = 0
    moves: int = 0
    picks: list[str] = field(default_factory=list)
    pressed: int = 0
    delivered: int = 0
    sweeps: int = 0
    confirmed_sweeps: int = 0
    restarts: int = 0
    link_back: list[float] = field(default_factory=list)  # broker started -> gateway online


@dataclass
class Peers:
    broker: LocalBroker
    farm: ReaderFarm
    shelf: ShelfControllerSimulator
    handheld: ChafonSimulator
    scanners: list[ScannerSimulator]
    daemon: Daemon
    centre: Centre


class Soak:
    def __init__(self, layout: Layout, peers: Peers, db: Path, duration: float, seed: int):
        self.layout = layout
        self.peers = peers
        self.db = db
        self.duration = duration
        self.rng = random.Random(seed)
        self.tally = Tally()
        self.samples: list[Sample] = []
        self.where = {p.epc: p.antenna for p in layout.tagged}  # antenna each pack is on
        self._loop = asyncio.get_running_loop()
        self._start = self._deadline = 0.0

    def now(self) -> float:
        return self._loop.time() - self._start

    def over(self) -> bool:
        return self._loop.time() >= self._deadline

    async def pause(self, seconds: float) -> None:
        """Sleep, but not past the deadline."""
        await asyncio.sleep(max(0.0, min(seconds, self._deadline - self._loop.time())))

    async def run(self) -> None:
        self._start = self._loop.time()
        self._deadline = self._start + self.duration
        jobs: list[Callable[[], Coroutine[Any, Any, None]]] = [
            self.sampling,
            self.picking,
            self.deliveries,
            self.sweeps,
            self.broker_restarts,
        ]
        async with asyncio.TaskGroup() as group:
            for job in jobs:
                group.create_task(job())
            for reader in range(self.layout.readers):
                group.create_task(self.churn(reader))

    async def sampling(self) -> None:
        daemon = self.peers.daemon
        while not self.over():
            assert daemon.running(), f"the daemon exited:\n{daemon.tail()}"
            self.samples.append(daemon.sample(self.now()))
            await self.pause(SAMPLE_EVERY)
        self.samples.append(daemon.sample(self.now()))

    async def churn(self, reader: int) -> None:
        """Packs of this reader's product leave and come back; now and then one moves."""
        farm, rng = self.peers.farm, self.rng
        packs = [p for p in self.layout.tagged if p.reader == reader]
        await self.pause(reader * 1.5)
        while not self.over():
            away = rng.sample(packs, LEAVING)
            for pack in away:
                await farm.remove(pack.epc)
                self.tally.removals += 1
                await asyncio.sleep(0.3)
            await asyncio.sleep(AWAY_SECONDS)
            for pack in away:
                await farm.place(reader, self.where[pack.epc], pack.epc)
            if rng.random() < 0.5:
                await self.move(rng.choice([p for p in packs if p not in away]))
            await asyncio.sleep(BACK_SECONDS)

    async def move(self, pack: TaggedPack) -> None:
        """A pack put back on a neighbouring antenna of its reader without leaving it."""
        here = self.where[pack.epc]
        there = ANTENNAS[(ANTENNAS.index(here) + 1) % len(ANTENNAS)]
        await self.peers.farm.remove(pack.epc)
        await self.peers.farm.place(pack.reader, there, pack.epc)
        self.where[pack.epc] = there
        self.tally.moves += 1

    async def picking(self) -> None:
        centre, rng = self.peers.centre, self.rng
        while not self.over():
            lines: list[dict[str, Any]] = []
            for c in self.layout.counted:
                quantity = rng.randint(1, 2)
                # Only what the shelves can give: a list is to be done, not to run short.
                if rng.random() < 0.7 and on_hand(self.db, c.gtin) >= quantity + 2:
                    lines.append({"gtin": c.gtin, "quantity": quantity})
            if not lines:
                await self.pause(1.0)
                continue
            pick_id = f"soak-{len(self.tally.picks) + 1}"
            self.tally.picks.append(pick_id)
            body = {"pick_id": pick_id, "lines": lines, "picker": "Soak"}
            await centre.send("pick", body, WAIT)
            await self.press_until_picked(pick_id, sum(int(line["quantity"]) for line in lines))
            await self.pause(PICK_PAUSE)

    async def press_until_picked(self, pick_id: str, wanted: int) -> None:
        """Press every lit slot as often as it shows, until the whole list is booked."""
        shelf, loop = self.peers.shelf, self._loop
        slots = [n - 1 for c in self.layout.counted for n in (c.first_slot, c.receive_slot)]
        deadline = loop.time() + WAIT
        while (done := picked(self.db, pick_id)) < wanted:
            assert loop.time() < deadline, f"{pick_id}: {done} of {wanted} picked in {WAIT} s"
            lit = []
            for index in slots:
                light = await shelf.light(index)
                if light.on and light.number > 0 and light.colour is not Colour.RED:
                    lit.append((index, light.number))
            if not lit:
                await asyncio.sleep(0.1)
                continue
            for index, times in lit:
                await shelf.press(index, times)
                self.tally.pressed += times
            booked = min(wanted, done + sum(times for _, times in lit))
            await eventually(
                lambda n=booked: picked(self.db, pick_id) >= n,  # type: ignore[misc]
                timeout=30,
                interval=0.05,
                what=f"{pick_id}: the presses booked",
            )
            await asyncio.sleep(0.3)  # the lights follow the booking: read them afresh

    async def deliveries(self) -> None:
        """Counted products' requests, as the centre receives them, delivered at once."""
        counted = {c.gtin: c for c in self.layout.counted}
        while not self.over():
            try:
                request = await asyncio.wait_for(self.peers.centre.new_requests.get(), 1.0)
            except TimeoutError:
                continue
            product = counted.get(str(request["gtin"]))
            if product is not None:
                await self.deliver(product, int(request["quantity"]))

    async def deliver(self, product: Counted, packs: int) -> None:
        scanner = self.peers.scanners[product.number]
        for _ in range(packs):
            scanner.scan(product.scan_code())
            self.tally.delivered += 1
            await asyncio.sleep(0.1)  # a scan takes ~50 ms on a 9600-baud line

    async def sweeps(self) -> None:
        await self.pause(SWEEP_EVERY / 2)
        while not self.over():
            await self.sweep(misplaced=self.tally.sweeps % 2 == 1)
            await self.pause(SWEEP_EVERY)

    async def sweep(self, misplaced: bool) -> None:
        """One pass of the handheld along shelf A, started and ended by command."""
        centre, layout = self.peers.centre, self.layout
        if misplaced:  # a pack put back one slot further along
            numbers = sorted(layout.swept)
            source = self.rng.choice([n for n in numbers if layout.swept[n]])
            target = numbers[(numbers.index(source) + 1) % len(numbers)]
            layout.swept[target].append(layout.swept[source].pop())
        known = {a["stocktake_id"] for a in centre.answers_with("started")}
        await centre.send("stocktake-start", {"shelf": "A", "by": "Soak"}, WAIT)
        [started] = await eventually(
            lambda: [a for a in centre.answers_with("started") if a["stocktake_id"] not in known],
            timeout=WAIT,
            what="the sweep started",
        )
        sid = str(started["stocktake_id"])
        groups = [[location(n), *layout.swept.get(n, [])] for n in range(1, SHELF_A_SLOTS + 1)]
        await self.peers.handheld.sweep(groups, dwell=0.5)
        await centre.send("stocktake-end", {"stocktake_id": sid}, WAIT)
        ended = await eventually(
            lambda: centre.answered(sid, "ended"), timeout=WAIT, what=f"{sid} ended"
        )
        summary = ended["summary"]
        want = {"missing": 0, "unexpected": 0, "misplaced": int(misplaced)}
        assert {k: summary[k] for k in want} == want, f"{sid}: {summary}"
        self.tally.sweeps += 1
        if misplaced:
            await centre.send("stocktake-confirm", {"stocktake_id": sid, "by": "Soak"}, WAIT)
            await eventually(
                lambda: centre.answered(sid, "confirmed"), timeout=WAIT, what=f"{sid} confirmed"
            )
            self.tally.confirmed_sweeps += 1

    async def broker_restarts(self) -> None:
        broker, centre = self.peers.broker, self.peers.centre
        interval = restart_interval(self.duration)
        at = interval
        while at < self.duration - 5:
            await self.pause(at - self.now())
            births = centre.births
            await broker.stop()
            await asyncio.sleep(BROKER_DOWN_SECONDS)
            await broker.start()
            back = self._loop.time()
            await eventually(
                lambda n=births: centre.births > n,  # type: ignore[misc]
                timeout=WAIT,
                what="the gateway online again",
            )
            self.tally.link_back.append(self._loop.time() - back)
            self.tally.restarts += 1
            at += interval
