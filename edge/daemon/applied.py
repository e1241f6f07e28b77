"""A change applied on the ledger's writer, as the daemon's loop receives it back, and what a
person watching the daemon reads about it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from edge.daemon.activity import Activity
from edge.lights.light_plan import LightPlan
from inventory.apply import apply
from inventory.changes import Change
from inventory.errors import Refused
from inventory.keeper import InventoryKeeper
from inventory.ledger.writer import write_mark
from inventory.picking.outcome import Outcome
from inventory.replenishment.policy import Product


@dataclass(slots=True)
class Applied:
    """A change's outcome, with the new on-hand of every GTIN it moved and whether pick lists
    are still open (read on the writer, where they are kept)."""

    outcome: Outcome
    on_hand: dict[str, int] = field(default_factory=dict)
    picking: bool = False
    busy: bool = False
    # the pick lists open: id -> the scanner or handheld it takes ('': every one)
    open_lists: dict[str, str] = field(default_factory=dict)
    plan: LightPlan | None = None  # every slot's light, when the change moved one


def apply_change(
    change: Change, plan: Callable[[InventoryKeeper], LightPlan], keeper: InventoryKeeper
) -> Applied:
    """On the writer thread: apply one change; `plan` the lights if it changed any."""
    outcome = apply(keeper, change)
    gtins = {m.gtin for commit in outcome.commits for m in commit.movements}
    on_hand = {g: keeper.on_hand(g) for g in gtins}
    busy = keeper.picks.busy or keeper.putaways.busy or keeper.shelf.gone.waiting
    lists = {p.pick_id: p.scanner for p in keeper.picks.lists.values()}
    applied = Applied(outcome, on_hand, keeper.picks.active, busy, lists)
    if outcome.lights_changed or any(c.alarms for c in outcome.commits):
        applied.plan = plan(keeper)
    return applied


def apply_in_turn(
    changes: Sequence[Change],
    plan: Callable[[InventoryKeeper], LightPlan],
    keeper: InventoryKeeper,
) -> list[Applied | Refused]:
    """On the writer thread: apply `changes` in order in one transaction (one commit and its
    fsync for them all). A change refused before it wrote anything gives its refusal and the
    next goes on; one refused after writing raises, and the whole group goes back."""
    results: list[Applied | Refused] = []
    for change in changes:
        mark = write_mark(keeper)
        try:
            results.append(apply_change(change, plan, keeper))
        except Refused as refusal:
            if write_mark(keeper) != mark:
                raise
            results.append(refusal)
    return results


def count(applied: Applied, counters: Counter[str]) -> None:
    """Add what an applied change wrote to the gateway's counters."""
    outcome = applied.outcome
    for commit in outcome.commits:
        counters["movements"] += len(commit.movements)
        counters["alarm_changes"] += len(commit.alarms)
        counters["requests"] += len(commit.requests)
    counters["mistakes"] += len(outcome.mistakes)


def activities(applied: Applied, products: Mapping[str, Product]) -> list[Activity]:
    """What a person watching the daemon should read about an applied change."""
    outcome = applied.outcome
    said = [Activity("note", note) for note in outcome.notes]  # picks, stocktakes, requests
    said += [Activity("refusal", note) for note in outcome.refusals]
    said += [Activity("putaway", note) for note in outcome.putaway_notes]
    said += [Activity("mistake", mistake.said()) for mistake in outcome.mistakes]
    said += [Activity("mistake", note) for note in outcome.putaway_mistakes]
    # Each movement's line gives the on-hand after it: the change's total (read once it was
    # applied) less what the movements after it in the same change added or took.
    on_hand = dict(applied.on_hand)
    for commit in outcome.commits:
        for m in commit.movements:
            on_hand[m.gtin] -= m.available_change()
    for commit in outcome.commits:
        for m in commit.movements:
            on_hand[m.gtin] += m.available_change()
            where = " -> ".join(s for s in (m.from_slot, m.to_slot) if s)
            name = products[m.gtin].name if m.gtin in products else m.gtin
            what = f"serial {m.serial}" if m.serial else f"{m.quantity} of batch {m.batch!r}"
            said.append(
                Activity(
                    "movement", f"{m.kind} {name} {what} at {where}; on hand now {on_hand[m.gtin]}"
                )
            )
        for alarm in commit.alarms:
            label = alarm.detail.get("name", alarm.subject)
            said.append(Activity("alarm", f"{alarm.kind} {alarm.state}: {label}"))
        for request in commit.requests:
            said.append(
                Activity(
                    "request",
                    f"procurement request {request.request_id} {request.status}: "
                    f"{request.quantity} x {request.product.name} ({request.priority})"
                    + (f", {request.received} received" if request.received else ""),
                )
            )
    return said
