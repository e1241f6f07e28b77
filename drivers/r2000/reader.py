"""An R2000 reader on one serial link: sets it up, keeps inventory rounds going antenna by
antenna, and reports tags, round statistics and antenna faults."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from drivers.cancellation import raise_if_cancelling
from drivers.events import (
    AntennaFault,
    DriverEvent,
    InventoryRoundCut,
    InventoryRoundDone,
    TagSeen,
)
from drivers.frames import Frame
from drivers.r2000.codec import R2000Decoder, real_time_inventory
from drivers.r2000.inventory import ErrorReply, RoundEnd, TagRow, parse_inventory_reply
from drivers.r2000.settings import (
    CMD_SET_OUTPUT_POWER,
    CMD_SET_WORK_ANTENNA,
    SUCCESS,
    describe,
    set_output_power,
    set_work_antenna,
    status_of,
)
from drivers.serial_device import SerialDevice
from drivers.serial_link import SerialLink, SerialPort

log = logging.getLogger(__name__)

# A partial frame that gets no more bytes for this long was started by garbage: a reader sends
# a whole frame without pauses (a 255-byte frame takes 22 ms at 115200 baud).
STALE_PARTIAL = 0.1
# Pause after an antenna refuses to be selected, so a reader with every antenna missing is not
# asked again in a tight loop.
FAULT_PAUSE = 0.2
# Power commands sent again while the reader answers the rest before a round runs regardless
# (a reader that never answers that command still reads).
POWER_TRIES = 3


class R2000Reader(SerialDevice):
    """Owns one port. Each round: select the next antenna (when several are in use), run one
    real-time inventory, wait for its end (or a timeout), repeat."""

    def __init__(
        self,
        port: SerialPort,
        emit: Callable[[DriverEvent], None],
        address: int = 0x01,
        antennas: Sequence[int] = (1,),
        output_power_dbm: int | None = None,
        round_timeout: float = 2.0,
        command_timeout: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ):
        super().__init__(port, emit, clock=clock)
        self._address = address
        self._antennas = list(antennas) or [1]
        self._power = output_power_dbm
        self._round_timeout = round_timeout
        self._command_timeout = command_timeout
        self.decoder: R2000Decoder = R2000Decoder()
        self._round_done = asyncio.Event()
        self._replies: dict[int, asyncio.Future[int]] = {}
        self._stale: asyncio.TimerHandle | None = None
        self._faulty: set[int] = set()
        self._antenna = self._antennas[0]
        self._round_tags = 0  # tag rows since the last round's end
        self.rounds = 0
        self.last_read_rate = 0

    async def _session(self, link: SerialLink) -> None:
        self.decoder.reset()
        self._round_tags = 0
        command = real_time_inventory(self._address)
        turn = 0
        # The reader's settings (output power, work antenna) are lost when it restarts, and a
        # restart behind a port that stays open shows only as rounds without an answer: after
        # one, they are sent again before the next round.
        setup = True
        unanswered_power = 0  # power commands in a row the reader let pass while it answered
        while not link.closed.done():
            settled = True  # every setting sent this turn was answered
            if setup and self._power is not None:
                code = await self._command(
                    link, CMD_SET_OUTPUT_POWER, set_output_power(self._address, self._power)
                )
                settled = code is not None
                if code not in (SUCCESS, None):
                    log.warning("%s: setting output power failed: %s", self.name, describe(code))
            antenna = self._antennas[turn % len(self._antennas)]
            turn += 1
            if len(self._antennas) > 1 or setup:
                code = await self._command(
                    link, CMD_SET_WORK_ANTENNA, set_work_antenna(self._address, antenna)
                )
                if code is not None and code != SUCCESS:
                    self._antenna_fault(antenna, describe(code))
                    await asyncio.sleep(FAULT_PAUSE)
                    continue
                if code is not None and not settled and unanswered_power < POWER_TRIES:
                    # Back after the power was sent (a restart ending): no round before it is
                    # set, or the first would read at the reader's default power.
                    unanswered_power += 1
                    continue
                settled = settled and code is not None
            self._antenna = antenna
            answered = await self._round(link, command, self._round_done, self._round_timeout)
            if self._round_tags:  # tag rows, and no end of their round
                self._emit(InventoryRoundCut(self.name, antenna, self._round_tags))
                self._round_tags = 0
            setup = not (answered and settled)
            if settled:
                unanswered_power = 0

    async def _command(self, link: SerialLink, command: int, frame: bytes) -> int | None:
        """Send a settings command; its status code, or None if the reader did not answer."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._replies[command] = future
        link.write(frame)
        try:
            code = await asyncio.wait_for(future, self._command_timeout)
        except TimeoutError:
            code = None
        finally:
            self._replies.pop(command, None)
        # Python 3.11's wait_for can swallow a cancel that lands as the answer arrives.
        raise_if_cancelling()
        return code

    def _data_received(self, data: bytes) -> None:
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
            self._mark_up()
            reply_to = self._replies.get(frame.command)
            if reply_to is not None:
                code = status_of(frame)
                if code is not None and not reply_to.done():
                    reply_to.set_result(code)
                continue
            reply = parse_inventory_reply(frame)
            if isinstance(reply, TagRow):
                self._round_tags += 1
                self._emit(TagSeen(self.name, reply.antenna, reply.epc, reply.rssi))
            elif isinstance(reply, RoundEnd):
                self._round_tags = 0
                self.rounds += 1
                self.last_read_rate = reply.read_rate
                log.debug(
                    "%s antenna %d: round done, reader's own read rate %d tags/s, %d reads in all",
                    self.name,
                    reply.antenna,
                    reply.read_rate,
                    reply.total_reads,
                )
                # The end of a round names its antenna: a round that ends late, after the
                # host moved on, must not clear the fault of the antenna selected since.
                if reply.antenna in self._faulty:
                    self._faulty.discard(reply.antenna)
                    self._emit(AntennaFault(self.name, reply.antenna, ok=True))
                self._round_done.set()
                self._emit(
                    InventoryRoundDone(self.name, reply.antenna, reply.read_rate, reply.total_reads)
                )
            elif isinstance(reply, ErrorReply):
                self._antenna_fault(self._antenna, describe(reply.code))
                self._round_done.set()

    def _antenna_fault(self, antenna: int, detail: str) -> None:
        if antenna not in self._faulty:
            self._faulty.add(antenna)
            self._emit(AntennaFault(self.name, antenna, ok=False, detail=detail))
