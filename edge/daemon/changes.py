"""Changes the daemon hands to the ledger's writer thread, and what it says about their results.

A change is what the presence tracker saw (a pack arrived, left, moved) or a call on the keeper
(a command, a button, a scan, an alarm). On the writer each becomes an `Outcome`: what was
written, the notes for the activity log, mistakes caught, and whether the lights must change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial

from drivers.modbus.lights import SlotLight
from edge.daemon.activity import Activity
from edge.daemon.put_away import put_away_by_tag
from inventory.alarms.lifecycle import AlarmKind
from inventory.keeper import Commit, InventoryKeeper
from inventory.ledger.book import StockError
from inventory.picking.outcome import Outcome
from inventory.picking.results import message
from inventory.replenishment.orders import RequestError
from inventory.replenishment.policy import Product
from inventory.replenishment.requests import RequestStatus
from inventory.stock.presence import Arrived, Left, Moved, PresenceChange
from sync.commands import (
    AlarmAck,
    BadCommand,
    CancelCommand,
    Command,
    LocateCommand,
    PickCommand,
    ProcurementConfirm,
    PutawayCommand,
    PutawayEnd,
    RecallCommand,
)
from sync.status_updates import StatusUpdate

Change = PresenceChange | Callable[[InventoryKeeper], Commit | Outcome]


@dataclass(slots=True)
class Applied:
    """A change's outcome, with the new on-hand of every GTIN it moved and whether pick lists
    are still open (read on the writer, where they are kept)."""

    outcome: Outcome
    on_hand: dict[str, int] = field(default_factory=dict)
    picking: bool = False
    busy: bool = False
    plan: dict[str, SlotLight] | None = None  # every slot's light, when the change moved one


def apply_change(
    change: Change, plan: Callable[[InventoryKeeper], dict[str, SlotLight]], keeper: InventoryKeeper
) -> Applied:
    """On the writer thread: apply one change; `plan` the lights if it changed any."""
    by_tag = put_away_by_tag(change, keeper)
    if by_tag is not None:
        result: Commit | Outcome = by_tag
    elif isinstance(change, Arrived):
        if keeper.picks.holds(change.pack.epc):
            result = keeper.picks.returned(change.pack.epc)
        else:
            with keeper.group():
                put = keeper.put_away(change.pack, change.slot, reason="seen on shelf")
                # A pack taken by mistake and not put back in time is back after all.
                back = keeper.clear_alarm(AlarmKind.UNEXPECTED_REMOVAL, change.pack.epc)
            result = Outcome(commits=[put, back], lights_changed=bool(back.alarms))
    elif isinstance(change, Left):
        result = keeper.picks.removed(change.epc, change.slot)
    elif isinstance(change, Moved):
        result = keeper.move(change.epc, change.to_slot, reason="seen in another slot")
    else:
        result = change(keeper)
    outcome = result if isinstance(result, Outcome) else Outcome(commits=[result])
    gtins = {m.gtin for commit in outcome.commits for m in commit.movements}
    on_hand = {g: keeper.on_hand(g) for g in gtins}
    busy = keeper.picks.busy or keeper.putaways.busy
    applied = Applied(outcome, on_hand, keeper.picks.active, busy)
    if outcome.lights_changed or any(c.alarms for c in outcome.commits):
        applied.plan = plan(keeper)
    return applied


def command_change(command: Command, locate_seconds: float) -> Callable[[InventoryKeeper], Outcome]:
    """The keeper call that carries out a checked command (or answers a refused one)."""
    if isinstance(command, PickCommand):
        return lambda keeper: keeper.picks.start(command.request)
    if isinstance(command, CancelCommand):
        return lambda keeper: keeper.picks.cancel(command.pick_id, command.by)
    if isinstance(command, LocateCommand):
        seconds = command.seconds or locate_seconds
        return lambda keeper: keeper.picks.locate(command.gtin, seconds, command.command_id)
    if isinstance(command, RecallCommand):
        return lambda keeper: keeper.picks.recall(
            command.gtin, command.batch, command.note, command.by
        )
    if isinstance(command, AlarmAck):
        return partial(_ack, command)
    if isinstance(command, ProcurementConfirm):
        return partial(_confirm_request, command)
    if isinstance(command, PutawayCommand):
        return lambda keeper: keeper.putaways.notice(command.notice)
    if isinstance(command, PutawayEnd):
        return lambda keeper: keeper.putaways.end(command.delivery_id, command.by)
    if isinstance(command, BadCommand):
        bad = command
        return lambda keeper: keeper.picks.refuse(bad.command, bad.command_id, bad.error)
    raise ValueError(f"{command} is carried out on the loop, not by the keeper")


def _ack(command: AlarmAck, keeper: InventoryKeeper) -> Outcome:
    try:
        with keeper.group():
            answer = message(
                keeper.stamp(),
                "alarm-ack",
                command.alarm_id,
                "acknowledged",
                alarm_id=command.alarm_id,
                by=command.by,
            )
            commits = [keeper.ack_alarm(command.alarm_id, command.by), keeper.send([answer])]
    except StockError as exc:
        return keeper.picks.refuse("alarm-ack", command.alarm_id, str(exc))
    note = f"alarm {command.alarm_id} acknowledged by {command.by}"
    return Outcome(commits=commits, notes=[note], lights_changed=True)


def _confirm_request(command: ProcurementConfirm, keeper: InventoryKeeper) -> Outcome:
    rid = command.request_id
    proposed = next((r for r in keeper.open_requests() if r.request_id == rid), None)
    quantity = command.quantity or (proposed.quantity if proposed else 0)
    answer = message(
        keeper.stamp(),
        "procurement-confirm",
        rid,
        "confirmed",
        request_id=rid,
        by=command.by,
        quantity=quantity,
    )
    try:
        commit = keeper.confirm_request(rid, command.by, command.quantity, answer=[answer])
    except RequestError as exc:
        return keeper.picks.refuse("procurement-confirm", rid, str(exc))
    return Outcome(
        commits=[commit], notes=[f"request {rid} confirmed by {command.by} ({quantity})"]
    )


def status_change(update: StatusUpdate) -> Callable[[InventoryKeeper], Outcome]:
    """The keeper call for one answer of the centre on procurement/status."""

    def apply(keeper: InventoryKeeper) -> Outcome:
        try:
            commit = keeper.update_request(
                update.request_id, RequestStatus(update.status), update.note
            )
        except RequestError as exc:
            return keeper.picks.refuse("procurement-status", update.request_id, str(exc))
        said = f"request {update.request_id}: {update.status}" + (
            f" ({update.note})" if update.note else ""
        )
        return Outcome(commits=[commit], notes=[said])

    return apply


def activities(applied: Applied, products: Mapping[str, Product]) -> list[Activity]:
    """What a person watching the daemon should read about an applied change."""
    said: list[Activity] = []
    outcome = applied.outcome
    for note in outcome.notes:
        kind = "putaway" if note.startswith("put-away") else "pick"
        said.append(Activity("mistake" if note.startswith("MISTAKE") else kind, note))
    for commit in outcome.commits:
        for m in commit.movements:
            where = " -> ".join(s for s in (m.from_slot, m.to_slot) if s)
            name = products[m.gtin].name if m.gtin in products else m.gtin
            what = f"serial {m.serial}" if m.serial else f"{m.quantity} of batch {m.batch!r}"
            said.append(
                Activity(
                    "movement",
                    f"{m.kind} {name} {what} at {where}; on hand now {applied.on_hand[m.gtin]}",
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
