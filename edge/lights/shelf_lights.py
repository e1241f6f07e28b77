"""The lights on the shelves: the plan worked out on the ledger's writer (what every slot should
show now), and handing each slot whose light differs from what is lit to its shelf bus; and
whom a press of a slot's button is for (`shown_picker`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from drivers.modbus.lights import DARK, SlotLight
from drivers.modbus.profile import Colour
from drivers.modbus.shelf_bus import ShelfBus
from edge.daemon.activity import Activity, Observer
from edge.lights.light_plan import LightPlan, describe_light, plan_slots, shown_owner
from edge.lights.lights_feed import LightsFeed
from edge.lights.not_recorded import NotRecorded
from inventory.changes import Change, ConfirmButton
from inventory.keeper import InventoryKeeper
from inventory.picking.colours import HANDOVER_SECONDS
from inventory.picking.outcome import NOBODY

LightTargets = Mapping[str, tuple[ShelfBus, str, int]]  # slot -> (bus, controller, index)
# For HANDOVER_SECONDS after a slot changed from one owner to the next, a press there is the
# previous owner's, never the new one's: a press is read up to a poll after it was made (the
# person pressed while her own colour showed), and a person who took the last pack presses
# once more to be sure. The previous owner wants nothing more there (or, put aside for a pick
# list, its own pack), so such a press books none of the new owner's packs. So too after a red
# for a mistake ends (the right pack booked, or its time run out): a press is for the pick list
# whose mistake it was, the person at the shelf; after a red no list made (a put-away's
# mistake, an action not recorded), for nobody: it books nothing. The press names the owner by
# its colour number: a colour let go of is not given to a newcomer meanwhile unless no other is
# free, and then a press for it books nothing (`inventory.picking.colours`).


@dataclass(frozen=True, slots=True)
class _Handover:
    """Whom a press at a slot is for since `at` (a colour number, or NOBODY); `after_red`: it
    holds whatever the slot shows (after an owner, only while the slot shows the next)."""

    owner: int
    at: float
    after_red: bool = False


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
        self._planned = LightPlan()  # the last plan from the ledger
        self._owners: dict[str, int] = {}  # slot -> the colour number of the owner it shows
        self._reds: dict[str, int] = {}  # slot red now -> whose red (NOBODY: no list's)
        self._handed_over: dict[str, _Handover] = {}  # for HANDOVER_SECONDS
        self._monotonic = monotonic
        # (slot, picker whose colour it showed) -> presses the ledger cannot book yet
        self._held: Counter[tuple[str, int | None]] = Counter()
        self._targets = targets
        self._observe = observe
        # Red where a press or scan could not be recorded (`picking.mistake_seconds`).
        self.not_recorded = NotRecorded(mistake_seconds, lambda: self.show(self._planned))

    def plan(self, keeper: InventoryKeeper) -> LightPlan:
        """On the writer: every slot's light now (one owner's on a slot several want)."""
        cues = keeper.picks.cues() + keeper.putaways.cues()
        return plan_slots(keeper.alarms.live(), keeper.index, cues, self.colours)

    def show(self, plan: LightPlan) -> None:
        """Hand the shelf buses every light that differs from what is lit."""
        self._planned = plan
        held, kept = self._with_held(plan)
        self._note_owners(
            held, kept, {**dict.fromkeys(self.not_recorded.slots, NOBODY), **plan.reds}
        )
        lights = self.not_recorded.over(held)
        targets = self._targets()
        for slot in set(self.lit) | set(lights):
            light = lights.get(slot, DARK)
            target = targets.get(slot)
            if self.lit.get(slot, DARK) == light or target is None:
                continue
            bus, controller, index = target
            bus.set_light(controller, index, light)
            self._observe(Activity("led", f"slot {slot}: {describe_light(light)}"))
        self.feed.show(self.lit, lights)
        self.lit = lights

    def held(self, change: Change) -> Callable[[bool], None] | None:
        """A change held while the ledger cannot be written: a press is answered at once as
        if booked (the slot's number goes down; the next owner's light, or dark, at none
        left), so a picker does not press again. The returned call ends that once the ledger
        has written or refused it (with True, showing the lights again; False: the change's
        own plan is shown next)."""
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

    def _with_held(self, plan: LightPlan) -> tuple[dict[str, SlotLight], dict[str, int]]:
        """`plan`'s lights with each held press taken off the count of the owner it was
        pressed for (a pick list's or a put-away's; one held for an owner the slot no longer
        shows touches no other's): an owner whose count they end gives the slot to the next
        (`plan.behind`); other lights are left to the ledger. Also the slots they darkened,
        each with the owner it showed last: a press there is still that owner's."""
        if not self._held:
            return plan.lights, {}
        shown, kept = dict(plan.lights), {}
        for slot in {slot for slot, _ in self._held}:
            light = plan.lights.get(slot)
            if light is None or shown_owner(light, self.colours) is None:
                continue
            for owner_light in (light, *plan.behind.get(slot, ())):
                owner = shown_owner(owner_light, self.colours)
                left = owner_light.number - self._held[slot, owner]
                if left > 0:
                    shown[slot] = replace(owner_light, number=left)
                    break
                if owner is not None:
                    kept[slot] = owner
            else:
                del shown[slot]
        return shown, {slot: owner for slot, owner in kept.items() if slot not in shown}

    def _note_owners(
        self, lights: dict[str, SlotLight], kept: dict[str, int], reds: dict[str, int]
    ) -> None:
        """The owner each slot of `lights` (the plan with the held presses, under the red of
        an action not recorded) shows (`kept`: the slots held presses darkened, still their
        last owner's), the slots red now (`reds`: whose red each is), and the slots that just
        changed to another owner or ended their red. A slot that shows no owner now (dark, an
        alarm, red for a mistake over its owner) keeps no press from the owner before it: a
        press there is judged as on any slot not lit for a list (`inventory.picking.presses`).
        Red for an action not recorded is a message, not a mistake: a press there is for the
        owner under it."""
        now = self._monotonic()
        owners = dict(kept)
        for slot, light in lights.items():
            owner = shown_owner(light, self.colours)
            if owner is not None:
                owners[slot] = owner
        self._handed_over = {
            slot: handed
            for slot, handed in self._handed_over.items()
            if now - handed.at < HANDOVER_SECONDS
            and slot not in self._planned.reds
            and (handed.after_red or slot in owners)
        }
        for slot, before in self._owners.items():
            if owners.get(slot, before) != before:
                self._handed_over[slot] = _Handover(before, now)
        for slot, whose in self._reds.items():
            if slot not in reds:
                self._handed_over[slot] = _Handover(whose, now, after_red=True)
        self._owners, self._reds = owners, reds

    def shown_picker(self, slot: str) -> int | None:
        """The colour number of the owner (a pick list, a put-away) a press of `slot` is for:
        the one it shows, or for HANDOVER_SECONDS after it changed to it, the one before, or
        after a red ended there, whose mistake it was (NOBODY: no list's, the press books
        nothing); None when it shows none (dark, red for a mistake, an alarm, a located
        drug). A slot held presses darkened is still the owner's it showed last."""
        if slot in self._planned.reds:
            return None  # whoever presses on red made it red: the desks judge
        handed = self._handed_over.get(slot)
        if handed is not None and self._monotonic() - handed.at < HANDOVER_SECONDS:
            return handed.owner
        return self._owners.get(slot)
