"""The demo's stage: what its scenes act on and watch, and how they act and check.

Every check waits for what a step must cause, observed from outside the daemon where a person
would see it, until the demo's deadline.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from drivers.modbus.lights import SlotLight
from edge.daemon.gateway import Gateway
from edge.demo.centre import DemoCentre
from edge.demo.stock import ANA, BEN, slot_index
from edge.demo.view import DemoView
from firmware_sim.chafon_sim import ChafonSimulator
from firmware_sim.r2000_sim import R2000Simulator
from firmware_sim.scanner_sim import ScannerSimulator
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator

POLL = 0.05
PAUSE = 0.9  # seconds between the people's actions, for the person watching
Condition = Callable[[], bool | Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class Check:
    """What a step looked for and whether it was seen; `error`: what a command the step ran
    said when it failed ("" when nothing failed: it was not seen before the deadline)."""

    what: str
    passed: bool
    error: str = ""


@dataclass
class Stage:
    """What the scenario acts on and watches."""

    gateway: Gateway
    reader: R2000Simulator
    scanner: ScannerSimulator
    shelf: ShelfControllerSimulator
    centre: DemoCentre
    view: DemoView
    db: Path
    today: date
    deadline: float  # time.monotonic()
    checks: list[Check] = field(default_factory=list)
    goods_in: ScannerSimulator | None = None  # the put-away scanner
    handheld: ChafonSimulator | None = None  # the stocktake's handheld reader
    # What points `rxedge` commands at the demo's gateway: --broker, --site, --gateway, ...
    target: tuple[str, ...] = ()
    answers: list[str] = field(default_factory=list)  # the clerk's answers, in order


async def until(condition: Condition, deadline: float) -> bool:
    """Poll `condition` until it holds (True) or `deadline` (monotonic) passes (False)."""
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(POLL)


class Acts:
    """A scene: steps acted out on the stage, each followed by a check of what it caused."""

    def __init__(self, stage: Stage):
        self.s = stage

    async def check(self, what: str, condition: Condition) -> bool:
        return self.seen(what, await until(condition, self.s.deadline))

    def seen(self, what: str, ok: bool, error: str = "") -> bool:
        """Record a check whose answer is known now (what a command printed, or that it
        failed, and with what `error`): nothing to wait for."""
        self.s.checks.append(Check(what, ok, "" if ok else error))
        said = "ok" if ok else (f"FAILED ({error})" if error else "NOT OBSERVED")
        self.s.view.say("check", f"{said}: {what}")
        return ok

    def act(self, who: str, text: str) -> None:
        self.s.view.step(f"{who} {text}")
        self.s.view.say("pharmacist" if who in (ANA, BEN) else who, f"{who} {text}")

    async def light(self, slot: str) -> SlotLight:
        return await self.s.shelf.light(slot_index(slot))
