"""A Chafon handheld or desk reader on one serial link: repeated inventory, each answer possibly
spread over several frames."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from drivers.chafon.codec import BROADCAST, INTER_BYTE_GAP, ChafonDecoder, inventory
from drivers.chafon.inventory import (
    STATUS_TEXT,
    MalformedAnswer,
    Status,
    parse_inventory_answer,
)
from drivers.events import (
    AntennaFault,
    DriverEvent,
    InventoryRoundCut,
    InventoryRoundDone,
    TagSeen,
)
from drivers.frames import Frame
from drivers.serial_device import SerialDevice
from drivers.serial_link import SerialLink, SerialPort

log = logging.getLogger(__name__)


class ChafonReader(SerialDevice):
    """Asks for an inventory, collects the answer's frames until the final one, repeats."""

    def __init__(
        self,
        port: SerialPort,
        emit: Callable[[DriverEvent], None],
        address: int = BROADCAST,
        round_timeout: float = 3.0,
        pause: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        super().__init__(port, emit, clock=clock)
        self._address = address
        self._round_timeout = round_timeout
        self._pause = pause
        self.decoder: ChafonDecoder = ChafonDecoder()
        self._round_done = asyncio.Event()
        self._gap_timer: asyncio.TimerHandle | None = None
        self._antenna_bad = False
        self._round_tags = 0  # tags since the last answer's final frame
        self.rounds = 0
        self.malformed = 0

    async def _session(self, link: SerialLink) -> None:
        self.decoder.reset()
        self._round_tags = 0
        command = inventory(self._address)
        while not link.closed.done():
            answered = await self._round(link, command, self._round_done, self._round_timeout)
            if self._round_tags:  # tags, and no final frame of their answer
                self._emit(InventoryRoundCut(self.name, 1, self._round_tags))
                self._round_tags = 0
            if answered and self._pause:
                await asyncio.sleep(self._pause)

    def _data_received(self, data: bytes) -> None:
        now = self._clock()
        self._handle(self.decoder.feed(data, now))
        if self._gap_timer is not None:
            self._gap_timer.cancel()
            self._gap_timer = None
        if self.decoder.pending():
            self._gap_timer = asyncio.get_running_loop().call_later(
                INTER_BYTE_GAP * 2, self._gap_expired
            )

    def _gap_expired(self) -> None:
        self._gap_timer = None
        self._handle(self.decoder.expire(self._clock()))

    def _handle(self, frames: list[Frame]) -> None:
        for frame in frames:
            self._mark_up()
            try:
                answer = parse_inventory_answer(frame)
            except MalformedAnswer as exc:
                self.malformed += 1
                log.warning("%s: malformed inventory answer dropped: %s", self.name, exc)
                continue
            if answer is None:
                continue
            for epc in answer.epcs:
                self._emit(TagSeen(self.name, 1, epc, 0))
            self._round_tags += len(answer.epcs)
            if not answer.final:
                continue
            if answer.status == Status.ANTENNA_ERROR:
                if not self._antenna_bad:
                    self._antenna_bad = True
                    self._emit(
                        AntennaFault(
                            self.name, 1, ok=False, detail=STATUS_TEXT[Status.ANTENNA_ERROR]
                        )
                    )
            else:
                if self._antenna_bad:
                    self._antenna_bad = False
                    self._emit(AntennaFault(self.name, 1, ok=True))
                if answer.status == Status.MEMORY_FULL:
                    log.warning("%s: %s", self.name, STATUS_TEXT[Status.MEMORY_FULL])
                self.rounds += 1
                self._emit(InventoryRoundDone(self.name, 1, 0, self._round_tags))
                self._round_tags = 0
            self._round_done.set()
