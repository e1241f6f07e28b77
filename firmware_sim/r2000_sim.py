"""A simulated R2000 reader: answers the A0 protocol over a pty or TCP line, paced to its baud
rate, from a tag population on up to eight antennas that tests and the demo change at will."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from drivers.r2000.codec import CMD_REAL_TIME_INVENTORY, R2000Decoder, encode_frame
from drivers.r2000.inventory import (
    ERROR_ANTENNA_MISSING,
    encode_error,
    encode_round_end,
    encode_tag_row,
)
from drivers.r2000.settings import CMD_SET_OUTPUT_POWER, CMD_SET_WORK_ANTENNA, SUCCESS
from firmware_sim.faults import LineFaults
from firmware_sim.lines import Line, PtyLine, TcpLine

log = logging.getLogger(__name__)

ANTENNAS = (1, 2, 3, 4, 5, 6, 7, 8)


class R2000Simulator:
    """The reader side of the A0 protocol. A 0x89 command runs one round on the work antenna
    (set with 0x74): a tag row per tag in that antenna's field, then the end-of-round
    statistics; a missing antenna answers error 0x22 instead."""

    def __init__(
        self,
        baudrate: int = 115200,
        address: int = 0x01,
        round_time: float = 0.02,
        link: Path | None = None,
        tcp: bool = False,
        faults: LineFaults | None = None,
    ):
        self.address = address
        self.round_time = round_time
        self.line: Line = (
            TcpLine(baudrate, self._received, faults=faults)
            if tcp
            else PtyLine(baudrate, self._received, link=link, faults=faults)
        )
        self._tags: dict[int, dict[bytes, int]] = {a: {} for a in ANTENNAS}
        self.missing_antennas: set[int] = set()
        self.silent = False  # a hung reader: it answers nothing
        self.ignored: set[int] = set()  # commands a firmware of its own does not answer
        self.ends_withheld = 0  # rounds still to send their tag rows but not their end
        self.work_antenna = 1
        self.output_power: int | None = None
        self._decoder = R2000Decoder()
        self._round: asyncio.Task[None] | None = None
        self.rounds = 0
        self.total_reads = 0

    def restart(self) -> None:
        """The module loses power and comes back: its settings at their power-on defaults
        (work antenna 1, its own output power), the port (a converter) still open."""
        self.work_antenna = 1
        self.output_power = None

    @property
    def port(self) -> str:
        """What to give the daemon as the reader's port."""
        return self.line.url

    def place(self, antenna: int, epc: bytes | str, rssi: int = 0x50) -> None:
        """Put a tag in the field of `antenna` (1-8)."""
        self._tags[antenna][_epc(epc)] = rssi

    def remove(self, epc: bytes | str) -> bool:
        """Take a tag out of every antenna's field; False if it was not there."""
        key = _epc(epc)
        found = False
        for tags in self._tags.values():
            found = tags.pop(key, None) is not None or found
        return found

    def tags(self, antenna: int) -> list[bytes]:
        """Tags currently in the field of `antenna`."""
        return list(self._tags[antenna])

    async def start(self) -> None:
        await self.line.start()

    async def stop(self) -> None:
        if self._round is not None:
            self._round.cancel()
        await self.line.stop()

    def _received(self, data: bytes) -> None:
        frames = self._decoder.feed(data)
        if self.silent:
            return
        for frame in frames:
            if frame.command in self.ignored:
                continue
            if frame.command == CMD_SET_WORK_ANTENNA and len(frame.data) == 1:
                self.work_antenna = frame.data[0] + 1
                self._reply(CMD_SET_WORK_ANTENNA, SUCCESS)
            elif frame.command == CMD_SET_OUTPUT_POWER and frame.data:
                self.output_power = frame.data[0]
                self._reply(CMD_SET_OUTPUT_POWER, SUCCESS)
            elif frame.command == CMD_REAL_TIME_INVENTORY and (
                self._round is None or self._round.done()
            ):
                self._round = asyncio.get_running_loop().create_task(self._run_round())

    def _reply(self, command: int, code: int) -> None:
        self.line.send(encode_frame(self.address, command, bytes((code,))))

    async def _run_round(self) -> None:
        antenna = self.work_antenna
        await asyncio.sleep(self.round_time)
        if antenna in self.missing_antennas:
            self.line.send(encode_error(self.address, ERROR_ANTENNA_MISSING))
            return
        tags = list(self._tags[antenna].items())
        if tags:
            self.line.send(
                b"".join(encode_tag_row(self.address, antenna, epc, rssi) for epc, rssi in tags)
            )
        self.total_reads += len(tags)
        if self.ends_withheld > 0:  # the end lost on the line, or the link failing before it
            self.ends_withheld -= 1
            return
        self.rounds += 1
        rate = int(len(tags) / self.round_time) if self.round_time else len(tags)
        self.line.send(encode_round_end(self.address, antenna, min(rate, 0xFFFF), self.total_reads))


def _epc(epc: bytes | str) -> bytes:
    return bytes.fromhex(epc) if isinstance(epc, str) else epc
