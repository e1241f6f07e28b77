"""The changes the daemon hands to the ledger's writer, as data (`inventory.apply` carries
them out on the writer thread, in one match).

Every change is a frozen dataclass naming what happened (a pack arrived, a button was pressed, a
command came in); none carries code. What the presence tracker finds (`Arrived`, `Left`,
`Moved`), a pick list (`PickRequest`) and a delivery's notice (`Notice`) are changes as they
are. A change the keeper refuses raises `Refused` (nothing written), except commands, whose
refusal is answered on `cmd-result` instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from inventory.alarms.lifecycle import Alarm, AlarmKind
from inventory.codes.barcodes import PackScan
from inventory.ledger.movements import Movement
from inventory.picking.lists import PickRequest
from inventory.putaway.sessions import Notice
from inventory.replenishment.requests import RequestAnswer
from inventory.stock.presence import Arrived, Left, Moved
from inventory.stocktake.sweep import Sweep

__all__ = [
    "AckAlarm",
    "Answering",
    "Arrived",
    "Book",
    "CancelPick",
    "Change",
    "ClearAlarm",
    "ConfirmButton",
    "ConfirmRequest",
    "ConfirmStocktake",
    "EndPutaway",
    "ExpirySweep",
    "FinishStocktake",
    "HandheldRead",
    "Left",
    "Locate",
    "Moved",
    "PickTick",
    "PutawayScan",
    "RaiseAlarm",
    "Recall",
    "ReceivedScan",
    "RecordOutage",
    "Refuse",
    "RememberCommand",
    "RequestAnswer",
    "ScannedAtPick",
    "SendRequestsAgain",
    "ShortageCheck",
    "StocktakeStarted",
    "UnreadCode",
    "WriteOff",
]


# At the shelf ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConfirmButton:
    """The confirm button of `slot` was pressed; `shown`: the colour number of the owner it is
    for (the one the slot showed; NOBODY, `inventory.picking.outcome`, just after a red no
    pick list's mistake made; None when it showed none: the desks judge); `least_seen`: the
    tagged packs a fixed reader watches in the slot, the one it has not seen for longest
    first (the pack just taken, when one was)."""

    slot: str
    presses: int
    shown: int | None
    least_seen: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HandheldRead:
    """A handheld read a pack's tag while pick lists were open."""

    epc: str
    reader: str


@dataclass(frozen=True, slots=True)
class ScannedAtPick:
    """A pack's barcode was scanned at a picking scanner."""

    scan: PackScan
    scanner: str


@dataclass(frozen=True, slots=True)
class ReceivedScan:
    """A pack's barcode was scanned at a receiving scanner: one pack booked into `slot`."""

    scan: PackScan
    slot: str
    actor: str
    scanner: str


@dataclass(frozen=True, slots=True)
class PutawayScan:
    """A pack's barcode was scanned at a put-away scanner (`station`: its station's slot)."""

    scan: PackScan
    scanner: str
    station: str
    actor: str


@dataclass(frozen=True, slots=True)
class UnreadCode:
    """A receiving or put-away scanner could not take a code (`why`): red at its desk's slot."""

    scanner: str
    slot: str
    why: str


@dataclass(frozen=True, slots=True)
class PickTick:
    """Time passed: reminders, timeouts, mistakes, red and located drugs ending (pick lists
    and put-aways)."""


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
    """An alarm that was live while nothing could be written: its raise and clear, recorded;
    when an alarm of its id is live already (raised for another reason), that one stays."""

    alarm: Alarm


@dataclass(frozen=True, slots=True)
class ExpirySweep:
    near_days: int


@dataclass(frozen=True, slots=True)
class ShortageCheck:
    """The gateway started: every product's stock judged as if it had just fallen there."""


@dataclass(frozen=True, slots=True)
class SendRequestsAgain:
    """Time passed: requests the centre has not answered `after_seconds` after the broker took
    their last copy are sent again."""

    after_seconds: float


@dataclass(frozen=True, slots=True)
class Book:
    """Movements booked as they are (a correction, a delivery entered by hand)."""

    movements: tuple[Movement, ...]


# Commands from the centre ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RememberCommand:
    """A command message received: its id kept until it expires (replays are refused), in
    one transaction with `then`, the change the command asks for (if the ledger carries it
    out): a command is remembered exactly when it was carried out, and one remembered before
    is not carried out again (a press kept on disk through a power cut, carried out again)."""

    message_id: str
    command: str
    expires_at: str
    then: Change | None = None


@dataclass(frozen=True, slots=True)
class Answering:
    """`change`, carried out for the command message `message_id` (`command`, its answers
    filed under `answer_id`): the answers it writes on `cmd-result` name that message
    (`reply_to`), so its sender can tell them from answers to its earlier messages."""

    message_id: str
    command: str
    answer_id: str
    change: Change


@dataclass(frozen=True, slots=True)
class CancelPick:
    pick_id: str
    by: str


@dataclass(frozen=True, slots=True)
class Locate:
    """Light the slots holding usable packs of `gtin` for `seconds` (None: configured)."""

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
class WriteOff:
    """Quarantined packs of a batch taken off the shelf in `slot` by a person, to destroy or
    send back: `quantity` of them (None: every one held there)."""

    gtin: str
    batch: str
    slot: str
    quantity: int | None
    by: str
    note: str = ""


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
class EndPutaway:
    delivery_id: str
    by: str


@dataclass(frozen=True, slots=True)
class Refuse:
    """A command that will not be carried out: answered with `error`, nothing done. Its
    answer names the refused message by `message_id` (`reply_to`) when it could be read; a
    copy of a message let in before names it by `replay_of` instead: its sender's answer is
    the one the message drew when it first came."""

    command: str
    command_id: str
    error: str
    message_id: str = ""
    replay_of: str = ""


@dataclass(frozen=True, slots=True)
class StocktakeStarted:
    sweep: Sweep


@dataclass(frozen=True, slots=True)
class FinishStocktake:
    sweep: Sweep
    abandoned: str = ""  # why it cannot be reconciled (kept unjudged); '': reconcile it


@dataclass(frozen=True, slots=True)
class ConfirmStocktake:
    stocktake_id: str
    by: str
    # A badge tapped at the shelf: it leaves the packs booked on another shelf where they are.
    tap: bool = False


Change = (
    Arrived
    | Left
    | Moved
    | ConfirmButton
    | HandheldRead
    | ScannedAtPick
    | ReceivedScan
    | PutawayScan
    | UnreadCode
    | PickTick
    | RaiseAlarm
    | ClearAlarm
    | RecordOutage
    | ExpirySweep
    | ShortageCheck
    | SendRequestsAgain
    | Book
    | RememberCommand
    | Answering
    | PickRequest
    | CancelPick
    | Locate
    | Recall
    | WriteOff
    | AckAlarm
    | ConfirmRequest
    | RequestAnswer
    | Notice
    | EndPutaway
    | Refuse
    | StocktakeStarted
    | FinishStocktake
    | ConfirmStocktake
)
