"""Red at the slot of a press or scan the daemon could not record: the ledger could not be
written and the action file could not keep it either (`LedgerLink.on_unkept`), so it is not
answered as booked, and nothing books it later. The slot blinks red fast, as for a mistake, for
`picking.mistake_seconds`, or until writing works again (`LedgerLink.on_recovered`: what is done
there now is recorded, so the slot shows at once what a press or scan then books), then shows
what it did before. A scan at a pick scanner, a handheld's read, has no slot of its own to show
it at (the ledger would have chosen one): the ledger holds it in memory instead."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from drivers.modbus.lights import SlotLight
from edge.lights.light_plan import MISTAKE_LIGHT
from inventory.changes import Change, ConfirmButton, PutawayScan, ReceivedScan


class NotRecorded:
    """The slots showing red for an action not recorded; `show_again` shows the lights anew
    (each time one starts or ends)."""

    def __init__(self, seconds: float, show_again: Callable[[], None]):
        self._seconds = seconds
        self._show_again = show_again
        self._red: dict[str, asyncio.TimerHandle] = {}  # slot -> the end of its red

    def tell(self, action: Change) -> None:
        """`action` was not recorded: red at its slot (anew, for the whole time, when a second
        comes while the first is shown), when it has one."""
        slot = slot_of(action)
        if slot is None:
            return
        if (ending := self._red.pop(slot, None)) is not None:
            ending.cancel()
        self._red[slot] = asyncio.get_running_loop().call_later(self._seconds, self._end, slot)
        self._show_again()

    @property
    def slots(self) -> frozenset[str]:
        """The slots red now."""
        return frozenset(self._red)

    def over(self, plan: dict[str, SlotLight]) -> dict[str, SlotLight]:
        """`plan` with red at the slots of actions not recorded."""
        if not self._red:
            return plan
        return {**plan, **dict.fromkeys(self._red, MISTAKE_LIGHT)}

    def end_all(self) -> None:
        """Every red ends now (writing works again)."""
        if self._red:
            self.stop()
            self._show_again()

    def stop(self) -> None:
        """No red ends from now on (the daemon stops)."""
        for ending in self._red.values():
            ending.cancel()
        self._red.clear()

    def _end(self, slot: str) -> None:
        del self._red[slot]
        self._show_again()


def slot_of(action: Change) -> str | None:
    """Where a person waits for `action`'s answer: the slot pressed, or a goods-in desk's."""
    if isinstance(action, ConfirmButton | ReceivedScan):
        return action.slot
    if isinstance(action, PutawayScan):
        return action.station
    return None
