"""The changes the daemon hands to the ledger's writer, as data, and `apply`: the one place that
turns each into keeper calls (on the writer thread, inside its transaction).

Every change is a frozen dataclass naming what happened (a pack arrived, a button was pressed, a
command came in); none carries code. What the presence tracker finds (`Arrived`, `Left`,
`Moved`) is a change as it is. A change the keeper refuses raises `Refused` (nothing written),
except commands, whose refusal is answered on `cmd-result` instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from inventory.alarms.lifecycle import Alarm, AlarmKind
from inventory.errors import RequestError, UnknownAlarm
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from inventory.picking.lists import PickRequest
from inventory.picking.outcome import Outcome
from inventory.picking.results import message
from inventory.replenishment.requests import RequestStatus
from inventory.stock.expiry import expiry_sweep
from inventory.stock.presence import Arrived, Left, Moved
from inventory.stocktake.sweep import Sweep

__all__ = [
    "AckAlarm",
    "Arrived",
    "Book",
    "CancelPick",
    "Change",
    "ClearAlarm",
    "ConfirmButton",
    "ConfirmRequest",
    "ConfirmStocktake",
    "ExpirySweep",
    "FinishStocktake",
    "HandheldRead",
    "Left",
    "Locate",
    "Moved",
    "PickTick",
    "RaiseAlarm",
    "Recall",
    "ReceivedScan",
    "RecordOutage",
    "Refuse",
    "RememberCommand",
    "RequestAnswer",
    "ScannedAtPick",
    "StartPick",
    "StocktakeStarted",
    "apply",
]


# At the shelf ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConfirmButton:
    """The confirm button of `slot` was pressed; `shown`: the picker whose colour it showed."""

    slot: str
    presses: int
    shown: int | None


@dataclass(frozen=True, slots=True)
class HandheldRead:
    """A handheld read a pack's tag while pick lists were open."""

    epc: str
    reader: str


@dataclass(frozen=True, slots=True)
class ScannedAtPick:
    """A pack's barcode was scanned at a picking scanner."""

    gtin: str
    batch: str
    serial: str
    scanner: str


@dataclass(frozen=True, slots=True)
class ReceivedScan:
    """A pack's barcode was scanned at a receiving scanner: one pack booked into `slot`."""

    gtin: str
    batch: str
    serial: str
    expiry: date | None
    slot: str
    actor: str
    scanner: str


@dataclass(frozen=True, slots=True)
class PickTick:
    """Time passed: reminders, timeouts, mistakes and located drugs ending."""


# Alarms and time ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RaiseAlarm:
    kind: AlarmKind
    subject: str
    detail: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class ClearAlarm:
    kind: AlarmKind
    subject: str


@dataclass(frozen=True, slots=True)
class RecordOutage:
    """An alarm that was live while nothing could be written: its raise and clear, recorded."""

    alarm: Alarm


@dataclass(frozen=True, slots=True)
class ExpirySweep:
    near_days: int


@dataclass(frozen=True, slots=True)
class Book:
    """Movements booked as they are (a correction, a delivery entered by hand)."""

    movements: tuple[Movement, ...]


# Commands from the centre ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RememberCommand:
    """A command message received: its id kept until it expires (replays are refused)."""

    message_id: str
    command: str
    expires_at: str


@dataclass(frozen=True, slots=True)
class StartPick:
    request: PickRequest


@dataclass(frozen=True, slots=True)
class CancelPick:
    pick_id: str
    by: str


@dataclass(frozen=True, slots=True)
class Locate:
    """Light the slots holding `gtin` for `seconds` (None: the configured time)."""

    gtin: str
    seconds: float | None
    command_id: str


@dataclass(frozen=True, slots=True)
class Recall:
    gtin: str
    batch: str
    note: str
    by: str


@dataclass(frozen=True, slots=True)
class AckAlarm:
    alarm_id: str
    by: str


@dataclass(frozen=True, slots=True)
class ConfirmRequest:
    request_id: str
    by: str
    quantity: int | None


@dataclass(frozen=True, slots=True)
class RequestAnswer:
    """The centre's answer about a request (procurement/status)."""

    request_id: str
    status: RequestStatus
    note: str


@dataclass(frozen=True, slots=True)
class Refuse:
    """A command that will not be carried out: answered with `error`, nothing done."""

    command: str
    command_id: str
    error: str


@dataclass(frozen=True, slots=True)
class StocktakeStarted:
    sweep: Sweep


@dataclass(frozen=True, slots=True)
class FinishStocktake:
    sweep: Sweep


@dataclass(frozen=True, slots=True)
class ConfirmStocktake:
    stocktake_id: str
    by: str


Change = (
    Arrived
    | Left
    | Moved
    | ConfirmButton
    | HandheldRead
    | ScannedAtPick
    | ReceivedScan
    | PickTick
    | RaiseAlarm
    | ClearAlarm
    | RecordOutage
    | ExpirySweep
    | Book
    | RememberCommand
    | StartPick
    | CancelPick
    | Locate
    | Recall
    | AckAlarm
    | ConfirmRequest
    | RequestAnswer
    | Refuse
    | StocktakeStarted
    | FinishStocktake
    | ConfirmStocktake
)


def apply(keeper: InventoryKeeper, change: Change) -> Outcome:
    """Carry out one change on the writer thread; what it did."""
    match change:
        case Arrived(pack, slot):
            if keeper.shelf.holds(pack.epc):
                return keeper.shelf.returned(pack.epc)
            with keeper.group():
                put = keeper.put_away(pack, slot, reason="seen on shelf")
                # A pack taken by mistake and not put back in time is back after all.
                back = keeper.alarms.clear(AlarmKind.UNEXPECTED_REMOVAL, pack.epc)
            return Outcome(commits=[put, back], lights_changed=bool(back.alarms))
        case Left(epc, slot):
            return keeper.shelf.removed(epc, slot)
        case Moved(epc, _, to_slot):
            return Outcome([keeper.move(epc, to_slot, reason="seen in another slot")])
        case ConfirmButton(slot, presses, shown):
            return keeper.shelf.button(slot, presses, shown)
        case HandheldRead(epc, reader):
            return keeper.shelf.tag_read(epc, reader)
        case ScannedAtPick(gtin, batch, serial, scanner):
            return keeper.shelf.scanned(gtin, batch, serial, scanner)
        case ReceivedScan():
            return Outcome([keeper.commit([_received(change)])])
        case PickTick():
            return keeper.picks.tick()
        case RaiseAlarm(kind, subject, detail):
            return Outcome([keeper.alarms.raise_alarm(kind, subject, dict(detail))])
        case ClearAlarm(kind, subject):
            return Outcome([keeper.alarms.clear(kind, subject)])
        case RecordOutage(alarm):
            with keeper.group():
                raised = keeper.alarms.raise_alarm(alarm.kind, alarm.subject, alarm.detail)
                cleared = keeper.alarms.clear(alarm.kind, alarm.subject)
            return Outcome([raised, cleared])
        case ExpirySweep(near_days):
            return expiry_sweep(keeper, keeper.calendar.today(), near_days)
        case Book(movements):
            return Outcome([keeper.commit(movements)])
        case RememberCommand(message_id, command, expires_at):
            now = keeper.stamp()
            keeper.commands.forget_expired(now)
            keeper.commands.remember(message_id, command, now, expires_at)
            return Outcome()
        case StartPick(request):
            return keeper.picks.start(request)
        case CancelPick(pick_id, by):
            return keeper.picks.cancel(pick_id, by)
        case Locate(gtin, seconds, command_id):
            seconds = seconds or keeper.picks.times.locate_seconds
            return keeper.picks.locate(gtin, seconds, command_id)
        case Recall(gtin, batch, note, by):
            return keeper.picks.recall(gtin, batch, note, by)
        case AckAlarm():
            return _acknowledge(keeper, change)
        case ConfirmRequest():
            return _confirm_request(keeper, change)
        case RequestAnswer():
            return _request_answer(keeper, change)
        case Refuse(command, command_id, error):
            return keeper.picks.refuse(command, command_id, error)
        case StocktakeStarted(sweep):
            return keeper.stocktakes.started(sweep)
        case FinishStocktake(sweep):
            return keeper.stocktakes.finish(sweep)
        case ConfirmStocktake(stocktake_id, by):
            return keeper.stocktakes.confirm(stocktake_id, by)


def _received(scan: ReceivedScan) -> Movement:
    """A pack scanned in at a receiving scanner (closes what it delivers)."""
    return Movement(
        MovementKind.RECEIVE,
        scan.gtin,
        serial=scan.serial,
        batch=scan.batch,
        expiry=scan.expiry.isoformat() if scan.expiry else None,
        to_slot=scan.slot,
        actor=scan.actor,
        reason=f"scanned in at {scan.scanner}",
    )


def _acknowledge(keeper: InventoryKeeper, command: AckAlarm) -> Outcome:
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
            commits = [
                keeper.alarms.acknowledge(command.alarm_id, command.by),
                keeper.send([answer]),
            ]
    except UnknownAlarm as exc:
        return keeper.picks.refuse("alarm-ack", command.alarm_id, str(exc))
    note = f"alarm {command.alarm_id} acknowledged by {command.by}"
    return Outcome(commits=commits, notes=[note], lights_changed=True)


def _confirm_request(keeper: InventoryKeeper, command: ConfirmRequest) -> Outcome:
    rid = command.request_id
    proposed = next((r for r in keeper.orders.open_requests() if r.request_id == rid), None)
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
        commit = keeper.orders.confirm(rid, command.by, command.quantity, answer=[answer])
    except RequestError as exc:
        return keeper.picks.refuse("procurement-confirm", rid, str(exc))
    return Outcome(
        commits=[commit], notes=[f"request {rid} confirmed by {command.by} ({quantity})"]
    )


def _request_answer(keeper: InventoryKeeper, answer: RequestAnswer) -> Outcome:
    try:
        commit = keeper.orders.update(answer.request_id, answer.status, answer.note)
    except RequestError as exc:
        return keeper.picks.refuse("procurement-status", answer.request_id, str(exc))
    said = f"request {answer.request_id}: {answer.status}" + (
        f" ({answer.note})" if answer.note else ""
    )
    return Outcome(commits=[commit], notes=[said])
