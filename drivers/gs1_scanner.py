"""A GS1 barcode scanner on a serial line (USB CDC-ACM or RS-232): one element string per scan,
symbology identifier first (]d2 for GS1 DataMatrix), GS separators kept.

A scan ends at CR or LF, or once the scanner has sent nothing for `quiet` seconds (a scanner set
to send no suffix). A scan that cannot be a code (too long, bytes beyond ASCII) is reported as
unreadable, so that the desk can say so, never dropped in silence."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from drivers.events import BarcodeScanned, DriverEvent, ScanUnreadable
from drivers.serial_device import SerialDevice
from drivers.serial_link import SerialLink, SerialPort

log = logging.getLogger(__name__)

# Longer than any GS1 element string a pack carries; beyond it the line is noise.
MAX_LINE = 512
# A scanner sends a scan without pausing; a USB adapter or a serial-to-Ethernet converter may
# hold bytes back for some tens of milliseconds. Quiet for longer than this, the scan is over.
DEFAULT_QUIET = 0.08
GS = 0x1D  # FNC1 as the scanner sends it: a separator inside the element string, kept
# What a cable being plugged in or a scanner waking up may send ahead of a scan: C0 control
# bytes and DEL, stripped from the front of a scan (GS excepted).
_STRAY = frozenset(range(0x20)) - {GS} | {0x7F}
PARITY_HINT = (
    "bytes with the high bit set: the scanner seems to send 7 data bits with parity (7E1 or "
    "7O1); set it to 8 data bits (8N1, or the parity configured for this port)"
)


class BarcodeScanner(SerialDevice):
    """Emits one BarcodeScanned per scan, or one ScanUnreadable for a scan that cannot be a
    code (`too_long` and `undecodable` count those)."""

    def __init__(
        self,
        port: SerialPort,
        emit: Callable[[DriverEvent], None],
        clock: Callable[[], float] = time.monotonic,
        quiet: float = DEFAULT_QUIET,
    ):
        super().__init__(port, emit, clock=clock)
        self._quiet = quiet
        self._buf = bytearray()
        self._skipping = False  # the rest of an over-long scan, dropped up to its end
        self._quiet_timer: asyncio.TimerHandle | None = None
        self.too_long = 0
        self.undecodable = 0
        self.stray_bytes = 0

    async def _session(self, link: SerialLink) -> None:
        # A scanner speaks only when something is scanned: an open port is all we can check.
        self._buf.clear()
        self._skipping = False
        self._mark_up()
        try:
            await link.closed
        finally:  # what was half received when the port went is no scan
            if self._quiet_timer is not None:
                self._quiet_timer.cancel()
                self._quiet_timer = None

    def _data_received(self, data: bytes) -> None:
        if self._quiet_timer is not None:
            self._quiet_timer.cancel()
            self._quiet_timer = None
        self._buf += data
        while (end := _line_end(self._buf)) >= 0:
            line = bytes(self._buf[:end])
            del self._buf[: end + 1]
            self._scan_ended(line)
        if len(self._buf) > MAX_LINE:
            self._scan_ended(bytes(self._buf))
            self._buf.clear()
            self._skipping = True
        if self._buf or self._skipping:
            self._quiet_timer = asyncio.get_running_loop().call_later(
                self._quiet, self._quiet_reached
            )

    def _quiet_reached(self) -> None:
        self._quiet_timer = None
        line = bytes(self._buf)
        self._buf.clear()
        self._scan_ended(line)
        self._skipping = False

    def _scan_ended(self, line: bytes) -> None:
        if self._skipping:  # the tail of a scan already reported as too long
            self._skipping = False
            return
        start = 0
        while start < len(line) and line[start] in _STRAY:
            start += 1
        self.stray_bytes += start
        line = line[start:]
        if not line:
            return
        if len(line) > MAX_LINE:
            self.too_long += 1
            self._unreadable(f"a scan longer than {MAX_LINE} bytes (noise on the line?)")
            return
        try:
            text = line.decode("ascii")
        except UnicodeDecodeError:
            self.undecodable += 1
            self._unreadable(PARITY_HINT)
            return
        self._emit(BarcodeScanned(self.name, text))

    def _unreadable(self, reason: str) -> None:
        log.warning("%s: unreadable scan: %s", self.name, reason)
        self._emit(ScanUnreadable(self.name, reason))


def _line_end(buf: bytearray) -> int:
    """Where the first CR or LF in `buf` is, or -1."""
    ends = [i for i in (buf.find(b"\r"), buf.find(b"\n")) if i >= 0]
    return min(ends, default=-1)
