"""A device on a serial link that the driver keeps open: reopened with capped, jittered back-off
whenever the port disappears, and reported up or down on each change."""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Protocol

from drivers.backoff import Backoff
from drivers.cancellation import raise_if_cancelling
from drivers.events import DeviceDown, DeviceUp, DriverEvent
from drivers.frames import DecoderStats
from drivers.serial_link import SerialLink, SerialPort, permission_problem

log = logging.getLogger(__name__)

# Rounds in a row without an answer before an open port is reported down (device unpowered).
SILENT_ROUNDS = 3
STABLE_LINK = 10.0  # seconds a link must last for the reopen delays to start again from the first


class Decoder(Protocol):
    stats: DecoderStats


class SerialDevice(ABC):
    """Subclasses speak the protocol in `_session` and receive bytes in `_data_received`; a
    device that sends frames has a `decoder`."""

    decoder: Decoder | None = None

    def __init__(
        self,
        port: SerialPort,
        emit: Callable[[DriverEvent], None],
        reopen_cap: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._clock = clock  # monotonic seconds: the driver's timers
        self.port = port
        self.name = port.name
        self.url = port.url
        self.baudrate = port.baudrate
        self._emit = emit
        self._reopen_cap = reopen_cap
        self.up: bool | None = None  # None until the first success or failure
        self.opens = 0
        self._silent = 0

    async def run(self) -> None:
        """Keep the device open and talk to it until cancelled."""
        backoff = Backoff(initial=0.2, cap=self._reopen_cap)
        while True:
            try:
                link = await SerialLink.open(self.port, self._data_received)
            except (OSError, ValueError) as exc:
                self._mark_down(f"cannot open {self.url}: {permission_problem(self.url) or exc}")
                await asyncio.sleep(backoff.next_delay())
                continue
            self.opens += 1
            opened_at = self._clock()
            try:
                await self._session(link)
                raise_if_cancelling()
            except OSError as exc:
                log.info("%s: link failed: %s", self.name, exc)
            finally:
                link.close()
            self._mark_down(f"{self.url} closed")
            # A link that served for a while starts the retries afresh; one that closes as soon
            # as it opens (a converter that takes the connection and drops it) backs off.
            if self._clock() - opened_at >= STABLE_LINK:
                backoff.reset()
            await asyncio.sleep(backoff.next_delay())

    async def _round(
        self, link: SerialLink, command: bytes, done: asyncio.Event, timeout: float
    ) -> bool:
        """Send `command` and wait for `done` (set by the decoding side), the link closing, or
        `timeout`; whether the device answered. Unanswered rounds in a row mark it down."""
        done.clear()
        link.write(command)
        waiter = asyncio.ensure_future(done.wait())
        try:
            await asyncio.wait(
                (waiter, link.closed), timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiter.cancel()
        if done.is_set():
            self._silent = 0
            return True
        if not link.closed.done():
            self._silent += 1
            if self._silent >= SILENT_ROUNDS:
                reason = f"no answer to {self._silent} rounds on {self.url}"
                if self.up is None:  # never answered: most often the line's settings
                    reason += (
                        f"; it never answered: check that the device is set to "
                        f"{self.port.settings} (baudrate, parity, stopbits in its entry)"
                    )
                self._mark_down(reason)
        return False

    @property
    def frames(self) -> int:
        """Frames decoded from the device so far (0 for devices without frames)."""
        return self.decoder.stats.frames if self.decoder is not None else 0

    @abstractmethod
    async def _session(self, link: SerialLink) -> None:
        """Talk to the device until `link.closed` completes."""

    @abstractmethod
    def _data_received(self, data: bytes) -> None:
        """Bytes arrived from the device."""

    def _mark_up(self) -> None:
        if self.up is not True:
            self.up = True
            self._emit(DeviceUp(self.name))

    def _mark_down(self, reason: str) -> None:
        if self.up is not False:
            self.up = False
            self._emit(DeviceDown(self.name, reason))  # the gateway logs it, with the reason
