"""Pharmacist badges on PC/SC readers: card in (with its UID) and card out.

pyscard blocks, so every poll runs in a worker thread; one task owns the PC/SC service. A
service that is not running (pcscd stopped) reports the device down until it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from drivers.errors import Retryable
from drivers.events import BadgePresented, BadgeRemoved, DeviceDown, DeviceUp, DriverEvent

log = logging.getLogger(__name__)

GET_UID = [0xFF, 0xCA, 0x00, 0x00, 0x00]  # PC/SC part 3: UID of the card on the reader
BADGE_SERVICE = "pcsc"  # the device name the badge service goes by (status, alarms)


class PcscUnavailable(Retryable):
    """The PC/SC service or library cannot be used."""


def _poll(name_filter: str) -> dict[str, str | None]:
    """Reader name -> UID of the card on it (None when empty). Runs in a worker thread."""
    try:
        from smartcard.Exceptions import CardConnectionException, NoCardException
        from smartcard.System import readers
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise PcscUnavailable(f"pyscard is not installed: {exc}") from None
    try:
        found = [r for r in readers() if name_filter in str(r)]
    except Exception as exc:  # pyscard raises its own types when pcscd is unreachable
        raise PcscUnavailable(f"PC/SC service unavailable: {exc}") from None
    state: dict[str, str | None] = {}
    for reader in found:
        connection: Any = reader.createConnection()
        try:
            connection.connect()
            data, sw1, sw2 = connection.transmit(GET_UID)
            state[str(reader)] = bytes(data).hex().upper() if (sw1, sw2) == (0x90, 0x00) else None
        except (NoCardException, CardConnectionException):
            state[str(reader)] = None
        finally:
            # A card pulled mid-exchange leaves nothing to undo.
            with contextlib.suppress(Exception):
                connection.disconnect()
    return state


class BadgeReaders:
    """Watches every PC/SC reader whose name contains `name_filter`."""

    def __init__(
        self,
        emit: Callable[[DriverEvent], None],
        name_filter: str = "",
        poll_interval: float = 0.25,
        device_name: str = BADGE_SERVICE,
    ):
        self._emit = emit
        self._filter = name_filter
        self._interval = poll_interval
        self.name = device_name
        self._cards: dict[str, str | None] = {}
        self.up: bool | None = None
        self.polls = 0  # polls finished, answered or not (a hung PC/SC service stops it)

    async def run(self) -> None:
        """Poll until cancelled."""
        while True:
            try:
                state = await asyncio.to_thread(_poll, self._filter)
            except PcscUnavailable as exc:
                self._set_up(False, str(exc))
                self._forget_cards()
            else:
                self._set_up(True)
                self._apply(state)
            self.polls += 1
            await asyncio.sleep(self._interval)

    def _apply(self, state: dict[str, str | None]) -> None:
        for reader in set(self._cards) | set(state):
            before, now = self._cards.get(reader), state.get(reader)
            if before == now:
                continue
            if before is not None:
                self._emit(BadgeRemoved(reader))
            if now is not None:
                self._emit(BadgePresented(reader, now))
        self._cards = state

    def _forget_cards(self) -> None:
        for reader, uid in self._cards.items():
            if uid is not None:
                self._emit(BadgeRemoved(reader))
        self._cards = {}

    def _set_up(self, up: bool, reason: str = "") -> None:
        if self.up is not up:
            self.up = up
            self._emit(DeviceUp(self.name) if up else DeviceDown(self.name, reason))
