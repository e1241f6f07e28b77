"""A simulated GS1 barcode scanner: each scan is one line on a pty or TCP line at its baud."""

from __future__ import annotations

from pathlib import Path

from firmware_sim.faults import LineFaults
from firmware_sim.lines import Line, PtyLine, TcpLine

GS = "\x1d"


class ScannerSimulator:
    """Sends what a pharmacist scans; `suffix` is the scanner's configured line end."""

    def __init__(
        self,
        baudrate: int = 9600,
        link: Path | None = None,
        tcp: bool = False,
        suffix: str = "\r\n",
        faults: LineFaults | None = None,
    ):
        self.suffix = suffix
        self.line: Line = (
            TcpLine(baudrate, self._ignore, faults=faults)
            if tcp
            else PtyLine(baudrate, self._ignore, link=link, faults=faults)
        )

    @property
    def port(self) -> str:
        return self.line.url

    def scan(self, element_string: str, symbology: str = "]d2") -> None:
        """Scan a code: `element_string` with GS (\\x1d) between variable-length fields."""
        self.line.send((symbology + element_string + self.suffix).encode("ascii"))

    async def start(self) -> None:
        await self.line.start()

    async def stop(self) -> None:
        await self.line.stop()

    @staticmethod
    def _ignore(_data: bytes) -> None:
        """Scanners take no commands here."""
