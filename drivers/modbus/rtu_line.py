"""The master's end of an RS-485 line: a Modbus RTU client that notes when bytes last arrived and
which answers came when none was awaited, so that the bus can keep the line quiet after a request
went unanswered.

RTU frames carry no transaction id. An answer that arrives after its request's deadline, once the
next request to the same device is out, is taken by pymodbus as the answer to that one (the device
id is all it checks), and every exchange after it is one answer behind. So after an unanswered
request the line is not used again until it has been silent for a while; what arrives meanwhile
pymodbus drops (no request awaits it) and this client counts.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Callable

from pymodbus.client import AsyncModbusSerialClient
from pymodbus.framer import FramerType
from pymodbus.pdu import ModbusPDU

from drivers.modbus.wire import LONGEST_FRAME, char_bits, char_time
from drivers.serial_link import Parity, line_settings


class RtuClient(AsyncModbusSerialClient):
    """A Modbus RTU client on a serial port (8 data bits, `parity` and `stopbits` as the line
    is set: 8N1 by default) that leaves retrying and reconnecting to the bus. `timeout` is only
    a backstop: the bus gives each request a deadline of its own."""

    def __init__(
        self,
        url: str,
        baudrate: int,
        timeout: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        parity: Parity = "N",
        stopbits: int = 1,
    ):
        super().__init__(
            url,
            framer=FramerType.RTU,
            baudrate=baudrate,
            parity=parity,
            stopbits=stopbits,
            timeout=timeout,
            retries=0,
            reconnect_delay=0,
            trace_packet=self._packet,
            trace_pdu=self._pdu,
        )
        self.url = url
        self.baudrate = baudrate
        self.settings = line_settings(baudrate, parity, stopbits)
        self.char_bits = char_bits(parity, stopbits)
        self._clock = clock  # monotonic seconds
        self.stray: Counter[int] = Counter()  # device id -> answers that came unasked for
        self._heard_at = -math.inf  # when bytes last arrived (the clock's seconds)
        self._unanswered_at: float | None = None  # when the line stopped being trusted
        self._awaiting = False

    def unanswered(self) -> None:
        """The request out got no answer of its own in time: whatever comes next on the line
        may still be that answer."""
        self._awaiting = False
        self._unanswered_at = self._clock()

    async def quiet(self, window: float) -> None:
        """If a request went unanswered since the last call, wait until the line has been silent
        for `window` seconds, counting from then or from the last byte heard since. A line that
        never falls silent (noise) is given up on after one late answer's worth of time: two
        windows and the longest frame."""
        since, self._unanswered_at = self._unanswered_at, None
        if since is None:
            return
        most = since + 2 * window + LONGEST_FRAME * char_time(self.baudrate, self.char_bits)
        while (now := self._clock()) < most:
            silent_from = max(since, self._heard_at)
            if now - silent_from >= window:
                return
            await asyncio.sleep(min(silent_from + window, most) - now)

    def _packet(self, sending: bool, data: bytes) -> bytes:
        if not sending:
            self._heard_at = self._clock()
        return data

    def _pdu(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        if sending:
            self._awaiting = True
        elif self._awaiting:
            self._awaiting = False  # the first answer after a request is taken for its answer
        else:
            self.stray[pdu.dev_id] += 1
        return pdu
