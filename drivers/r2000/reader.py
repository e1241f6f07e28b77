"""An R2000 reader on one serial link: keeps inventory rounds running and reports what it sees."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from drivers.backoff import Backoff
from drivers.events import DeviceDown, DeviceUp, DriverEvent, InventoryRoundDone, TagSeen
from drivers.r2000.codec import Frame, R2000Decoder, real_time_inventory
from drivers.r2000.inventory import ErrorReply, RoundEnd, TagRow, parse_inventory_reply
from drivers.serial_link import SerialLink

log = logging.getLogger(__name__)

# A partial frame that gets no more bytes for this long was started by garbage: a reader sends
# a whole frame without pauses (a 255-byte frame takes 22 ms at 115200 baud).
STALE_PARTIAL = 0.1


class R2000Reader:
    """Owns one port. Re-issues real-time inventory after every round (or when a round stalls),
    and reopens the port with back-off when it disappears."""

    def __init__(
        self,
        name: str,
        url: str,
        baudrate: int,
        emit: Callable[[DriverEvent], None],
        address: int = 0x01,
        round_timeout: float = 2.0,
    ):
        self.name = name
        self._url = url
        self._baudrate = baudrate
        self._emit = emit
        self._address = address
        self._round_timeout = round_timeout
        self.decoder = R2000Decoder()
        self._round_done = asyncio.Event()
        self._up = False
        self._stale: asyncio.TimerHandle | None = None
        self.rounds = 0

    async def run(self) -> None:
        """Read until cancelled."""
        backoff = Backoff(initial=0.2, cap=2.0)
        while True:
            try:
                link = await SerialLink.open(self._url, self._baudrate, self._on_data)
            except (OSError, ValueError) as exc:
                self._mark_down(f"cannot open {self._url}: {exc}")
                await asyncio.sleep(backoff.next_delay())
                continue
            backoff.reset()
            self.decoder.reset()
            try:
                await self._inventory_loop(link)
            finally:
                link.close()
            self._mark_down(f"{self._url} closed")
            await asyncio.sleep(backoff.next_delay())

    async def _inventory_loop(self, link: SerialLink) -> None:
        command = real_time_inventory(self._address)
        while not link.closed.done():
            self._round_done.clear()
            link.write(command)
            done = asyncio.ensure_future(self._round_done.wait())
            try:
                await asyncio.wait(
                    (done, link.closed),
                    timeout=self._round_timeout,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                done.cancel()
            if not self._round_done.is_set() and not link.closed.done():
                log.debug("reader %s: round timed out, re-issuing inventory", self.name)

    def _on_data(self, data: bytes) -> None:
        self._handle(self.decoder.feed(data))
        if self._stale is not None:
            self._stale.cancel()
            self._stale = None
        if self.decoder.pending():
            self._stale = asyncio.get_running_loop().call_later(STALE_PARTIAL, self._drop_stale)

    def _drop_stale(self) -> None:
        self._stale = None
        while self.decoder.pending():
            self._handle(self.decoder.resync())

    def _handle(self, frames: list[Frame]) -> None:
        for frame in frames:
            reply = parse_inventory_reply(frame)
            if isinstance(reply, TagRow):
                self._mark_up()
                self._emit(TagSeen(self.name, reply.antenna, reply.epc, reply.rssi))
            elif isinstance(reply, RoundEnd):
                self._mark_up()
                self.rounds += 1
                self._round_done.set()
                self._emit(
                    InventoryRoundDone(self.name, reply.antenna, reply.read_rate, reply.total_reads)
                )
            elif isinstance(reply, ErrorReply):
                self._round_done.set()
                log.warning("reader %s: error 0x%02x", self.name, reply.code)

    def _mark_up(self) -> None:
        if not self._up:
            self._up = True
            self._emit(DeviceUp(self.name))

    def _mark_down(self, reason: str) -> None:
        if self._up:
            self._up = False
            self._emit(DeviceDown(self.name, reason))
        log.info("reader %s: %s", self.name, reason)
