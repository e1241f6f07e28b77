"""The lights on the shelves: the plan worked out on the ledger's writer (what every slot should
show now), and handing each slot whose light differs from what is lit to its shelf bus."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from drivers.modbus.lights import DARK, SlotLight
from drivers.modbus.profile import Colour
from drivers.modbus.shelf_bus import ShelfBus
from edge.daemon.activity import Activity, Observer
from edge.lights.light_plan import describe_light, plan_lights
from edge.lights.lights_feed import LightsFeed
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
        self._targets = targets
        self._observe = observe

    def plan(self, keeper: InventoryKeeper) -> dict[str, SlotLight]:
        """On the writer: every slot's light now (lists sharing a slot take turns by the
        keeper's clock)."""
        cues = keeper.picks.cues() + keeper.putaways.cues()
        return plan_lights(keeper.alarms.live(), keeper.index, cues, keeper.seconds(), self.colours)

    def show(self, plan: dict[str, SlotLight]) -> None:
        """Hand the shelf buses every light that differs from what is lit."""
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

    def shown_picker(self, slot: str) -> int | None:
        """Whose pick list the slot shows now (by its colour), when it shows one."""
        light = self.lit.get(slot)
        if light is None or not light.on or light.colour not in self.colours:
            return None
        return self.colours.index(light.colour)
