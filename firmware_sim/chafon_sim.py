"""A simulated Chafon reader (UHFReader18 / CF-RU5102): answers inventory over a pty or TCP
line at its baud rate, in several frames when the tags do not fit one. As a handheld it can
sweep a shelf: the field holds what the antenna passes over at each moment."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from drivers.chafon.codec import BROADCAST, CMD_INVENTORY, ChafonDecoder
from drivers.chafon.inventory import Status, encode_inventory_answer
from firmware_sim.faults import LineFaults
from firmware_sim.lines import Line, PtyLine, TcpLine

EPCS_PER_FRAME = 8


class ChafonSimulator:
    """The reader side of the Chafon protocol."""

    def __init__(
        self,
        baudrate: int = 57600,
        address: int = 0x00,
        scan_time: float = 0.03,
        link: Path | None = None,
        tcp: bool = False,
        faults: LineFaults | None = None,
    ):
        self.address = address
        self.scan_time = scan_time
        self.line: Line = (
            TcpLine(baudrate, self._received, faults=faults)
            if tcp
            else PtyLine(baudrate, self._received, link=link, faults=faults)
        )
        self._field: dict[bytes, None] = {}
        self._misses: dict[bytes, int] = {}  # EPC -> the next rounds its tag does not answer
        self.antenna_broken = False
        # Answers still to leave without their final frame (every frame says more follow),
        # as when the link fails mid-answer.
        self.ends_withheld = 0
        self._decoder = ChafonDecoder()
        self._answer: asyncio.Task[None] | None = None
        self.inventories = 0

    @property
    def port(self) -> str:
        return self.line.url

    def present(self, epcs: Sequence[bytes]) -> None:
        """Replace what is in the antenna's field."""
        self._field = dict.fromkeys(epcs)

    def add(self, epc: bytes) -> None:
        self._field[epc] = None

    def remove(self, epc: bytes) -> None:
        self._field.pop(epc, None)

    def miss(self, epc: bytes, rounds: int = 1) -> None:
        """The next `rounds` inventory rounds miss `epc`'s tag, in the field or not (turned
        away, shadowed by a hand): as a real reader now and then misses one."""
        self._misses[epc] = rounds

    async def sweep(self, groups: Sequence[Sequence[bytes]], dwell: float) -> None:
        """A handheld passed along a shelf: each group (a location tag, then its packs) is in
        the field for `dwell` seconds, in order; the field is empty afterwards."""
        for group in groups:
            self.present(group)
            await asyncio.sleep(dwell)
        self.present(())

    async def start(self) -> None:
        await self.line.start()

    async def stop(self) -> None:
        if self._answer is not None:
            self._answer.cancel()
        await self.line.stop()

    def _received(self, data: bytes) -> None:
        loop = asyncio.get_running_loop()
        for frame in self._decoder.feed(data, loop.time()):
            addressed = frame.address in (self.address, BROADCAST)
            if (
                frame.command == CMD_INVENTORY
                and addressed
                and (self._answer is None or self._answer.done())
            ):
                self._answer = loop.create_task(self._inventory())

    async def _inventory(self) -> None:
        await asyncio.sleep(self.scan_time)
        self.inventories += 1
        if self.antenna_broken:
            self.line.send(encode_inventory_answer(self.address, Status.ANTENNA_ERROR, []))
            return
        epcs = [epc for epc in self._field if not self._misses.get(epc)]
        self._misses = {epc: n - 1 for epc, n in self._misses.items() if n > 1}
        chunks = [epcs[i : i + EPCS_PER_FRAME] for i in range(0, len(epcs), EPCS_PER_FRAME)]
        chunks = chunks or [[]]
        withheld = self.ends_withheld > 0
        if withheld:
            self.ends_withheld -= 1
        for n, chunk in enumerate(chunks):
            final = n == len(chunks) - 1 and not withheld
            status = Status.DONE if final else Status.MORE
            self.line.send(encode_inventory_answer(self.address, status, chunk))
