"""The lights on the shelves: the plan worked out on the ledger's writer (what every slot should
show now), and handing each slot whose light differs from what is lit to its shelf bus."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from drivers.modbus.lights import DARK, SlotLight
from drivers.modbus.profile import Colour, Mode
from drivers.modbus.shelf_bus import ShelfBus
from edge.daemon.activity import Activity, Observer
from edge.lights.light_plan import describe_light, plan_lights
from edge.lights.lights_feed import LightsFeed
from inventory.changes import Change, ConfirmButton
from inventory.keeper import InventoryKeeper

LightTargets = Mapping[str, tuple[ShelfBus, str, int]]  # slot -> (bus, controller, index)


class ShelfLights:
    """What is lit, and the picker colours (on the event loop; `plan` runs on the writer)."""

    def __init__(
        self,
        colour_names: Sequence[str],
        targets: Callable[[], LightTargets],
        observe: Observer,
        feed: LightsFeed,
    ):
        self.feed = feed  # the lights on the wire, after the LED writes
        self.colours = [Colour[name.upper()] for name in colour_names]
        self.lit: dict[str, SlotLight] = {}
        self._planned: dict[str, SlotLight] = {}  # the last plan from the ledger
        # (slot, picker whose colour it showed) -> presses the ledger cannot book yet
        self._held: Counter[tuple[str, int | None]] = Counter()
        self._targets = targets
        self._observe = observe

    def plan(self, keeper: InventoryKeeper) -> dict[str, SlotLight]:
        """On the writer: every slot's light now (lists sharing a slot take turns by the
        keeper's clock)."""
        cues = keeper.picks.cues() + keeper.putaways.cues()
        return plan_lights(keeper.alarms.live(), keeper.index, cues, keeper.seconds(), self.colours)

    def show(self, plan: dict[str, SlotLight]) -> None:
        """Hand the shelf buses every light that differs from what is lit."""
        self._planned = plan
        plan = self._with_held(plan)
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
        """`plan` with each held press taken off the number its slot shows in the colour of
        the picker it was pressed for (a pick list's or a put-away's count; lists sharing a
        slot take turns, and another's count is not touched); other lights are left to the
        ledger."""
        if not self._held:
            return plan
        shown = dict(plan)
        for (slot, picker), presses in self._held.items():
            light = plan.get(slot)
            if (
                light is None
                or picker is None
                or not light.number
                or light.colour != self.colours[picker % len(self.colours)]
                or light.mode is Mode.FAST_BLINK  # a located drug, white
            ):
                continue
            if light.number > presses:
                shown[slot] = replace(light, number=light.number - presses)
            else:
                del shown[slot]
        return shown

    def shown_picker(self, slot: str) -> int | None:
        """Whose pick list the slot shows now (by its colour), when it shows one."""
        # A slot a held press darkened shows the ledger's plan's colour still.
        light = self.lit.get(slot, self._planned.get(slot))
        if light is None or not light.on or light.colour not in self.colours:
            return None
        return self.colours.index(light.colour)
