"""How the demo is shown: live in a terminal, or as lines for logs and pipes.

Live: the screen is redrawn about four times a second from what the shelf controller's
registers hold (the simulator's `lights()`, i.e. what the shelf really shows), the daemon's open
pick lists, live alarms and running stocktake, what the centre received, and what the ledger
file says of the requests and the last stocktake. Plain: every activity line is printed as it
happens, and a text picture of the shelf at the moments that matter.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path

from edge.daemon import ledger_questions as ask
from edge.daemon.gateway import Gateway
from edge.demo.ledger_file import Count, latest_count, request_states
from edge.demo.screen import Board, ansi_frame, panels, plain_grid
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator
from sync.procurement_feed import ReceivedRequest

FRAME_SECONDS = 0.25
HIDE_CURSOR, SHOW_CURSOR, CLEAR = "\x1b[?25l", "\x1b[?25h", "\x1b[2J"


class DemoView:
    """Says what happens and draws the shelf; `live` for a terminal."""

    def __init__(
        self,
        live: bool,
        shelf: ShelfControllerSimulator,
        labels: dict[str, str],
        names: dict[str, str],
        requests: Sequence[ReceivedRequest],
    ):
        self.live = live
        self.shelf = shelf
        self.gateway: Gateway | None = None
        self.db: Path | None = None  # the ledger file, once booked
        self.labels = labels
        self.names = names
        self.requests = requests
        self.started = time.monotonic()
        self.header = "rxedge demo: pick-to-light"
        self.page = ""  # the web page's address and login, kept on screen while it serves
        self.activity: deque[str] = deque(maxlen=200)
        self._frames = 0
        self._task: asyncio.Task[None] | None = None

    def say(self, kind: str, text: str) -> None:
        """One activity line (several for a text of several lines)."""
        stamp = f"[{time.monotonic() - self.started:6.1f}s] {kind:9}"
        for n, part in enumerate(text.splitlines() or [""]):
            line = f"{stamp} {part}" if n == 0 else f"{'':{len(stamp)}} {part}"
            self.activity.append(line)
            if not self.live:
                print(line, flush=True)

    def step(self, text: str) -> None:
        """What the scripted pharmacist (or the centre) does now, as the live screen's headline."""
        self.header = f"rxedge demo: {text}"

    async def board(self) -> Board:
        """What the shelf shows now, read from the controller's registers."""
        gateway = self.gateway
        ready = gateway is not None and gateway.ready.is_set()
        colours = gateway.config.picking.colours if gateway is not None else ["green", "blue"]
        sweep = gateway.stocktake.sweep if ready and gateway else None
        count = latest_count(self.db) if self.db else None
        if sweep is not None:
            count = Count(sweep.stocktake_id, sweep.shelf, "sweeping", packs_read=len(sweep.packs))
        return Board(
            lights=await self.shelf.lights(),
            labels=self.labels,
            names=self.names,
            colours=list(colours),
            lists=await gateway.ledger.ask(ask.open_pick_lists) if ready and gateway else [],
            alarms=await gateway.ledger.ask(ask.live_alarms) if ready and gateway else [],
            requests=list(self.requests),
            states=request_states(self.db) if self.db else {},
            count=count,
            activity=list(self.activity),
            page=self.page,
        )

    async def snapshot(self, title: str) -> None:
        """Plain: print the shelf and the panels now (live: the screen shows them already)."""
        if self.live:
            return
        board = await self.board()
        elapsed = time.monotonic() - self.started
        print(f"\n--- [{elapsed:6.1f}s] {title}: shelf A, from the controller's registers")
        for line in [*plain_grid(board), "", *panels(board)]:
            print(line)
        print("---\n", flush=True)

    async def start(self) -> None:
        if not self.live:
            return
        sys.stdout.write(HIDE_CURSOR + CLEAR)
        sys.stdout.flush()
        self._task = asyncio.create_task(self._redraw(), name="demo screen")

    async def stop(self) -> None:
        """Draw the last frame and give the terminal its cursor back."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
        self._task = None
        try:
            await self._draw()
        finally:
            sys.stdout.write(SHOW_CURSOR + "\n")
            sys.stdout.flush()

    def restore_terminal(self) -> None:
        """The cursor back, whatever happened (for interrupts)."""
        if self.live:
            sys.stdout.write("\x1b[0m" + SHOW_CURSOR)
            sys.stdout.flush()

    async def _redraw(self) -> None:
        while True:
            with contextlib.suppress(RuntimeError):  # the simulator or daemon is stopping
                await self._draw()
            await asyncio.sleep(FRAME_SECONDS)

    async def _draw(self) -> None:
        board = await self.board()
        size = shutil.get_terminal_size((100, 40))
        elapsed = time.monotonic() - self.started
        header = f"[{elapsed:5.1f}s] {self.header}"
        frame = ansi_frame(board, header, self._frames, time.time(), size.columns, size.lines)
        self._frames += 1
        sys.stdout.write(frame)
        sys.stdout.flush()
