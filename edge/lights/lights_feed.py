"""The shelves' lights on the wire: `lights/{shelf}` (retained), so that a screen (the web page)
draws each shelf as its controller shows it without asking the daemon.

The gateway hands the feed each new light plan with the one before; the feed sends every shelf
whose lights differ once the loop is free (the LED writes go first), so a burst of changes
becomes one message per shelf. On every connect it sends every shelf again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime

from drivers.modbus.lights import DARK, SlotLight
from edge.settings.config import ShelfConfig
from inventory.ledger.commit import iso
from sync.errors import PublishRefused
from sync.mqtt_session import MqttSession
from sync.topics import Topics

log = logging.getLogger(__name__)


def lights_message(
    shelf: str, slots: Sequence[str], plan: Mapping[str, SlotLight], at: datetime
) -> str:
    """The `lights/{shelf}` payload: every slot of the shelf, in order."""
    return json.dumps(
        {
            "shelf": shelf,
            "at": iso(at),
            "slots": [_slot(slot, plan.get(slot, DARK)) for slot in slots],
        },
        separators=(",", ":"),
    )


def _slot(slot: str, light: SlotLight) -> dict[str, object]:
    return {
        "slot": slot,
        "on": light.on,
        "colour": light.colour.name.lower(),
        "mode": light.mode.name.lower(),
        "number": light.number,
    }


class LightsFeed:
    """Sends `lights/{shelf}` for the shelves whose lights changed."""

    def __init__(
        self,
        shelves: Iterable[ShelfConfig],
        topics: Topics,
        session: Callable[[], MqttSession | None],
        now: Callable[[], datetime],
    ):
        self._now = now
        self._slots = {shelf.name: shelf.slot_names() for shelf in shelves}
        self._shelf_of = {slot: shelf for shelf, slots in self._slots.items() for slot in slots}
        self._topics = topics
        self._session = session
        self._plan: Mapping[str, SlotLight] = {}
        self._due: set[str] = set()
        self._sending: set[asyncio.Future[int]] = set()

    def show(self, before: Mapping[str, SlotLight], plan: Mapping[str, SlotLight]) -> None:
        """`plan` is every slot's light now (slots not in it are dark), `before` the last."""
        changed = {
            self._shelf_of.get(slot)
            for slot in set(before) | set(plan)
            if before.get(slot, DARK) != plan.get(slot, DARK)
        }
        self._plan = plan
        self._mark({s for s in changed if s is not None})

    def send_all(self) -> None:
        """Every shelf again (on connect: the broker may have lost the retained messages)."""
        self._mark(set(self._slots))

    def _mark(self, shelves: set[str]) -> None:
        if shelves - self._due and not self._due:
            asyncio.get_running_loop().call_soon(self._send_due)
        self._due |= shelves

    def _send_due(self) -> None:
        session = self._session()
        due, self._due = self._due, set()
        if session is None:
            return
        for shelf in sorted(due):
            payload = lights_message(shelf, self._slots[shelf], self._plan, self._now())
            sent = session.publish(self._topics.lights(shelf), payload, retain=True)
            self._sending.add(sent)
            sent.add_done_callback(self._sent)

    def _sent(self, future: asyncio.Future[int]) -> None:
        self._sending.discard(future)
        if not future.cancelled() and isinstance(future.exception(), PublishRefused):
            log.warning("the broker refused a lights message: %s", future.exception())
