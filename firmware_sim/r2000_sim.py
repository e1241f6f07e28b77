"""A simulated R2000 reader: answers real-time inventory over a pty, paced to its baud rate,
from a tag population on four antennas that tests and the demo change at will."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from drivers.r2000.codec import CMD_REAL_TIME_INVENTORY, R2000Decoder
from drivers.r2000.inventory import encode_round_end, encode_tag_row
from firmware_sim.paced_writer import PacedWriter
from firmware_sim.pty_port import PtyPort

log = logging.getLogger(__name__)

ANTENNAS = (1, 2, 3, 4)


class R2000Simulator:
    """The reader side of the A0 protocol. Each 0x89 command runs one round over all antennas:
    a tag row per tag in the field, then the end-of-round statistics."""

    def __init__(
        self,
        baudrate: int = 115200,
        address: int = 0x01,
        round_time: float = 0.05,
        link: Path | None = None,
    ):
        self.baudrate = baudrate
        self.address = address
        self.round_time = round_time
        self._link = link
        self._tags: dict[int, dict[bytes, int]] = {a: {} for a in ANTENNAS}
        self._decoder = R2000Decoder()
        self._port: PtyPort | None = None
        self._writer: PacedWriter | None = None
        self._round: asyncio.Task[None] | None = None
        self.rounds = 0
        self.total_reads = 0

    @property
    def port(self) -> str:
        """The serial port path to give the daemon."""
        if self._port is None:
            raise RuntimeError("simulator not started")
        return self._port.name

    def place(self, antenna: int, epc: bytes | str, rssi: int = 0x50) -> None:
        """Put a tag in the field of `antenna` (1-4)."""
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
        self._port = PtyPort(self._link)
        self._writer = PacedWriter(self._port.master, self.baudrate)
        self._writer.start()
        asyncio.get_running_loop().add_reader(self._port.master, self._on_readable)

    async def stop(self) -> None:
        if self._port is None:
            return
        asyncio.get_running_loop().remove_reader(self._port.master)
        if self._round is not None:
            self._round.cancel()
        if self._writer is not None:
            await self._writer.stop()
        self._port.close()
        self._port = None

    def _on_readable(self) -> None:
        assert self._port is not None
        try:
            data = os.read(self._port.master, 4096)
        except BlockingIOError:
            return
        except OSError:
            return
        for frame in self._decoder.feed(data):
            if frame.command == CMD_REAL_TIME_INVENTORY and (
                self._round is None or self._round.done()
            ):
                self._round = asyncio.get_running_loop().create_task(self._run_round())

    async def _run_round(self) -> None:
        assert self._writer is not None
        await asyncio.sleep(self.round_time)
        reads = 0
        for antenna in ANTENNAS:
            for epc, rssi in list(self._tags[antenna].items()):
                self._writer.send(encode_tag_row(self.address, antenna, epc, rssi))
                reads += 1
        self.total_reads += reads
        self.rounds += 1
        rate = int(reads / self.round_time) if self.round_time else reads
        self._writer.send(encode_round_end(self.address, 1, min(rate, 0xFFFF), self.total_reads))


def _epc(epc: bytes | str) -> bytes:
    return bytes.fromhex(epc) if isinstance(epc, str) else epc
