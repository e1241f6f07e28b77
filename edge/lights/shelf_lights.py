"""The lights on the shelves: the plan worked out on the ledger's writer (what every slot should
show now), and handing each slot whose light differs from what is lit to its shelf bus; and
whom a press of a slot's button is for (`shown_picker`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from drivers.modbus.lights import DARK, SlotLight
from drivers.modbus.profile import Colour
from drivers.modbus.shelf_bus import ShelfBus
from edge.daemon.activity import Activity, Observer
from edge.lights.light_plan import describe_light, plan_lights, shown_owner
from edge.lights.lights_feed import LightsFeed
from edge.lights.not_recorded import NotRecorded
from inventory.changes import Change, ConfirmButton
from inventory.keeper import InventoryKeeper

LightTargets = Mapping[str, tuple[ShelfBus, str, int]]  # slot -> (bus, controller, index)
# For this long after a slot changed from one owner to the next, a press there is the previous
# owner's, never the new one's: a press is read up to a poll after it was made (the person
# pressed while her own colour showed), and a person who took the last pack presses once more
# to be sure. The previous owner wants nothing more there (or, put aside for a pick list, its
# own pack), so such a press books none of the new owner's packs.
HANDOVER_SECONDS = 1.0


class ShelfLights:
    """What is lit, and the picker colours (on the event loop; `plan` runs on the writer)."""

    def __init__(
        self,
        colour_names: Sequence[str],
        targets: Callable[[], LightTargets],
        observe: Observer,
        feed: LightsFeed,
        monotonic: Callable[[], float],
        mistake_seconds: float,
    ):
        self.feed = feed  # the lights on the wire, after the LED writes
        self.colours = [Colour[name.upper()] for name in colour_names]
        self.lit: dict[str, SlotLight] = {}
        self._planned: dict[str, SlotLight] = {}  # the last plan from the ledger
        self._owners: dict[str, int] = {}  # slot -> the colour number of the owner it shows
        # slot -> (the owner it showed before, when that changed), for HANDOVER_SECONDS
        self._handed_over: dict[str, tuple[int, float]] = {}
        self._monotonic = monotonic
        # (slot, picker whose colour it showed) -> presses the ledger cannot book yet
        self._held: Counter[tuple[str, int | None]] = Counter()
        self._targets = targets
        self._observe = observe
        # Red where a press or scan could not be recorded (`picking.mistake_seconds`).
        self.not_recorded = NotRecorded(mistake_seconds, lambda: self.show(self._planned))

    def plan(self, keeper: InventoryKeeper) -> dict[str, SlotLight]:
        """On the writer: every slot's light now (one owner's on a slot several want)."""
        cues = keeper.picks.cues() + keeper.putaways.cues()
        return plan_lights(keeper.alarms.live(), keeper.index, cues, self.colours)

    def show(self, plan: dict[str, SlotLight]) -> None:
        """Hand the shelf buses every light that differs from what is lit."""
        self._planned = plan
        self._note_owners(plan)
        plan = self.not_recorded.over(self._with_held(plan))
        targets = self._targets()
        for slot in set(self.lit) | set(plan):
            light = plan.get(slot, DARK)
            target = targets.get(slot)
            if self.lit.get(slot, DARK) == light or target is None:
                continue
            bus, controller, index = target
            bus.set_light(controller, index, light)
            self._observe(Activity("led", f"slot {slot}: {describe_light(light)}"))
        self.feed.show(self.lit, plan)
        self.lit = plan

    def held(self, change: Change) -> Callable[[bool], None] | None:
        """A change held while the ledger cannot be written: a press is answered at once as
        if booked (the slot's number goes down, dark at none left), so a picker does not press
        again. The returned call ends that once the ledger has written or refused it (with
        True, showing the lights again; False: the change's own plan is shown next)."""
        if not isinstance(change, ConfirmButton):
            return None
        key, presses = (change.slot, change.shown), change.presses
        self._held[key] += presses
        self.show(self._planned)

        def booked(show: bool) -> None:
            self._held[key] -= presses
            if self._held[key] <= 0:
                del self._held[key]
            if show:
                self.show(self._planned)

        return booked

    def _with_held(self, plan: dict[str, SlotLight]) -> dict[str, SlotLight]:
        """`plan` with each held press taken off the number its slot shows for the owner it
        was pressed for (a pick list's or a put-away's count; a press held for the owner
        before a handover does not touch the new owner's); other lights are left to the
        ledger."""
        if not self._held:
            return plan
        shown = dict(plan)
        for (slot, picker), presses in self._held.items():
            light = plan.get(slot)
            if light is None or picker is None or shown_owner(light, self.colours) != picker:
                continue
            if light.number > presses:
                shown[slot] = replace(light, number=light.number - presses)
            else:
                del shown[slot]
        return shown

    def _note_owners(self, plan: dict[str, SlotLight]) -> None:
        """The owner each slot of `plan` shows, and the slots that just changed to another
        owner. A slot that shows none now (dark, an alarm, a mistake's red over its owner)
        keeps no press from anyone: a press there is judged as on any slot not lit for a list
        (`inventory.picking.presses`)."""
        now = self._monotonic()
        owners = {}
        for slot, light in plan.items():
            owner = shown_owner(light, self.colours)
            if owner is not None:
                owners[slot] = owner
        self._handed_over = {
            slot: handed
            for slot, handed in self._handed_over.items()
            if now - handed[1] < HANDOVER_SECONDS and slot in owners
        }
        for slot, before in self._owners.items():
            if owners.get(slot, before) != before:
                self._handed_over[slot] = (before, now)
        self._owners = owners

    def shown_picker(self, slot: str) -> int | None:
        """The colour number of the owner (a pick list, a put-away) a press of `slot` is for:
        the one it shows, or for HANDOVER_SECONDS after it changed to it, the one before;
        None when it shows none (dark, red, an alarm, a located drug). By the ledger's plan:
        a slot a held press darkened is still its owner's."""
        handed = self._handed_over.get(slot)
        if handed is not None and self._monotonic() - handed[1] < HANDOVER_SECONDS:
            return handed[0]
        return self._owners.get(slot)
