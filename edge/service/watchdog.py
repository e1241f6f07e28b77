"""The service watchdog: systemd hears that the gateway is ready, what it is doing, and - only
while every loop makes progress - that it is alive (WATCHDOG=1). A stalled loop means no ping,
and systemd restarts the service after WatchdogSec.

Each long-running loop has a heartbeat in `Heartbeats`: the monotonic time it last went round.
A loop that waits for something outside its control (an empty queue, a device that is gone, a
broker that is down) *rests*: its heartbeat is cleared and no age is held against it. A loop
that is busy must come round again within its allowance, or it is stalled.

Where the heartbeats come from (the watchdog is handed them; it knows nothing of the gateway):
- the gateway's own loops call `beats.tick(name)` each round (and `beats.rest(name)` before
  waiting for work);
- loops seen from outside (`ObservedLoop`, built by `edge.service.heartbeat_sources`): the
  drivers know nothing of this module, so their progress is read from counters they keep anyway
  (frames decoded by a reader, cycles of a shelf bus, polls of the badge readers), sampled on
  every step of the watchdog's own loop;
- the ledger writer is a thread: a call that does nothing goes through it every second, and its
  answer is the heartbeat (a writer stuck in a commit answers nothing);
- the publisher is judged by the acknowledgements it collects: with rows handed to a connected
  broker, PUBACKs must keep coming; with nothing in flight or the broker gone, it rests.

Loops that only sleep and compute need no heartbeat of their own: the watchdog runs on the
same event loop, so a blocking call anywhere on it stops the pings as well.

The allowances say whether a loop is stuck now. systemd acts only when no ping came for
WatchdogSec; pings go out every half of it, so a stall shorter than that costs a late ping and
nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from edge.service.sd_notify import Notifier
from inventory.keeper import InventoryKeeper

log = logging.getLogger(__name__)

# Seconds a busy loop may go without coming round (its allowance).
DEFAULT_WITHIN = 10.0
LOOP_WITHIN = {
    "presence": 5.0,  # sleeps at most 1 s a round
    "pick clock": 10.0,  # a round may wait for the writer (lights)
    "changes": 10.0,  # one change: a writer call and its report
}
WRITER = "ledger writer"
WRITER_WITHIN = 5.0  # a call that does nothing must be answered within this
WRITER_PROBE_SECONDS = 1.0
OUTBOX_EVERY = 5  # probes between two counts of the outbox (for the status line)
STEP_SECONDS = 1.0


class Heartbeats:
    """Loop name -> monotonic time of its last round (None while it rests)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self.last: dict[str, float | None] = {}
        self.within: dict[str, float] = dict(LOOP_WITHIN)

    def expect(self, name: str, within: float) -> None:
        """Watch `name`, which must come round every `within` seconds while busy."""
        self.within[name] = within
        self.last.setdefault(name, self._clock())

    def tick(self, name: str) -> None:
        """`name` went round its loop."""
        self.last[name] = self._clock()

    def rest(self, name: str) -> None:
        """`name` waits for work or for a device: not a stall, however long."""
        self.last[name] = None

    def stalled(self) -> list[tuple[str, float]]:
        """(name, seconds since its last round) of every busy loop past its allowance."""
        now = self._clock()
        found = []
        for name, last in self.last.items():
            if last is not None and now - last > self.within.get(name, DEFAULT_WITHIN):
                found.append((name, now - last))
        return found


@dataclass
class ObservedLoop:
    """A loop seen from outside: `progress` changes whenever it has gone round, `resting` says
    it legitimately waits."""

    name: str
    within: float
    progress: Callable[[], object]
    resting: Callable[[], bool] = lambda: False
    seen: object = None


Ask = Callable[[Callable[[InventoryKeeper], Any]], Awaitable[Any]]


class ServiceWatchdog:
    """READY=1 when started, STATUS= when the picture changes, WATCHDOG=1 every half of the
    watchdog timeout while nothing is stalled, STOPPING=1 when cancelled."""

    def __init__(
        self,
        beats: Heartbeats,
        notifier: Notifier,
        *,
        loops: Sequence[ObservedLoop] = (),
        ask_writer: Ask | None = None,
        describe: Callable[[int | None], str] = lambda outbox: "serving",
        timeout: float | None = None,
        writer_within: float = WRITER_WITHIN,
        probe_every: float = WRITER_PROBE_SECONDS,
        step: float = STEP_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.beats = beats
        self.notifier = notifier
        self.loops = list(loops)
        self._ask = ask_writer
        self._describe = describe
        self.ping_every = timeout / 2 if timeout else None
        self._writer_within = writer_within
        self._probe_every = probe_every
        self._step = min(step, self.ping_every / 2) if self.ping_every else step
        self._clock = clock
        self.outbox: int | None = None
        self.pings = 0
        self.status = ""
        self._stalled: set[str] = set()
        for loop in self.loops:
            beats.expect(loop.name, loop.within)

    async def run(self) -> None:
        """Watch until cancelled."""
        probe = None
        if self._ask is not None:
            self.beats.expect(WRITER, self._writer_within)
            probe = asyncio.create_task(self._probe_writer(), name="watchdog: writer probe")
        self.status = self._describe(None)
        self.notifier.ready(self.status)
        last_ping = -float("inf")
        try:
            while True:
                stalled = self.check()
                due = self.ping_every is not None and self._clock() - last_ping >= self.ping_every
                if due and not stalled:
                    self.notifier.watchdog()
                    self.pings += 1
                    last_ping = self._clock()
                await asyncio.sleep(self._step)
        finally:
            self.notifier.stopping()
            self.notifier.close()
            if probe is not None:
                probe.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await probe

    def check(self) -> list[tuple[str, float]]:
        """Sample the observed loops, tell the status if it changed; the stalled loops."""
        self.sample()
        stalled = self.beats.stalled()
        names = {name for name, _ in stalled}
        for name, age in stalled:
            if name not in self._stalled:
                log.error("%s made no progress for %.0f s: the watchdog is not pinged", name, age)
        for name in self._stalled - names:
            log.warning("%s makes progress again", name)
        self._stalled = names
        if stalled:
            loops = ", ".join(f"{name} for {age:.0f} s" for name, age in sorted(stalled))
            status = f"stalled: no progress in {loops}"
        else:
            status = self._describe(self.outbox)
        if status != self.status:
            self.status = status
            self.notifier.status(status)
        return stalled

    def sample(self) -> None:
        """Turn what the observed loops show into heartbeats."""
        for loop in self.loops:
            if loop.resting():
                self.beats.rest(loop.name)
                continue
            progress = loop.progress()
            if self.beats.last.get(loop.name) is None or progress != loop.seen:
                self.beats.tick(loop.name)
            loop.seen = progress

    async def _probe_writer(self) -> None:
        assert self._ask is not None
        probes = 0
        while True:
            count = probes % OUTBOX_EVERY == 0
            probes += 1
            try:
                answer = await self._ask(_outbox_depth if count else _nothing)
            except Exception as exc:  # a failed call is no answer (the ledger locked, say)
                log.warning("the ledger writer did not answer: %s", exc)
            else:
                self.beats.tick(WRITER)
                if count:
                    self.outbox = answer
            await asyncio.sleep(self._probe_every)


def _nothing(keeper: InventoryKeeper) -> None:
    return None


def _outbox_depth(keeper: InventoryKeeper) -> int:
    return keeper.outbox.depth()
