"""A GS1 barcode scanner on a serial line (USB CDC-ACM or RS-232): one element string per line,
symbology identifier first (]d2 for GS1 DataMatrix), GS separators kept."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from drivers.events import BarcodeScanned, DriverEvent
from drivers.serial_device import SerialDevice
from drivers.serial_link import SerialLink, SerialPort

log = logging.getLogger(__name__)

# Longer than any GS1 element string a pack carries; beyond it the line is noise.
MAX_LINE = 512


class BarcodeScanner(SerialDevice):
    """Emits one BarcodeScanned per line (CR, LF or CRLF ended)."""

    def __init__(
        self,
        port: SerialPort,
        emit: Callable[[DriverEvent], None],
        clock: Callable[[], float] = time.monotonic,
    ):
        super().__init__(port, emit, clock=clock)
        self._buf = bytearray()
        self.too_long = 0
        self.undecodable = 0

    async def _session(self, link: SerialLink) -> None:
        # A scanner speaks only when something is scanned: an open port is all we can check.
        self._buf.clear()
        self._mark_up()
        await link.closed

    def _data_received(self, data: bytes) -> None:
        self._buf += data
        while True:
            end = min(
                (i for i in (self._buf.find(b"\r"), self._buf.find(b"\n")) if i >= 0), default=-1
            )
            if end < 0:
                break
            line = bytes(self._buf[:end])
            del self._buf[: end + 1]
            if line:
                self._line(line)
        if len(self._buf) > MAX_LINE:
            self.too_long += 1
            log.warning("%s: %d bytes without a line end dropped", self.name, len(self._buf))
            self._buf.clear()

    def _line(self, line: bytes) -> None:
        if len(line) > MAX_LINE:
            self.too_long += 1
            return
        try:
            text = line.decode("ascii")
        except UnicodeDecodeError:
            self.undecodable += 1
            log.warning("%s: a scan with non-ASCII bytes was dropped", self.name)
            return
        self._emit(BarcodeScanned(self.name, text))
