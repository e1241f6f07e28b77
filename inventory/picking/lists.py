"""Pick lists: what is asked for, where it was allocated (FEFO), and what has been picked.

A pick list has lines (a GTIN, optionally one named batch, a quantity). Each line is allocated
at once over the slots holding available, unexpired, unrecalled stock, earliest expiry first
(the lines naming a batch before those taking any); what cannot be allocated is reported
short. The list is done when every allocated pack has been picked. Times are seconds since the
epoch from the keeper's clock, so a list survives a restart, and so do the tagged packs picked
for it (`taken`), which it wants again when they are put back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from inventory.stock.slot_index import StockLine

MAX_PICKERS = 4  # pick lists served at once, one colour each


class PickState(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"


@dataclass(frozen=True, slots=True)
class PickLine:
    """One line as asked for: `batch` '' means any batch."""

    gtin: str
    quantity: int
    batch: str = ""


@dataclass(frozen=True, slots=True)
class PickRequest:
    """A pick list as received (from the centre or the command line)."""

    pick_id: str
    lines: tuple[PickLine, ...]
    picker: str = ""  # who picks it (a name for the ledger's actor column)
    scanner: str = ""  # the scanner this picker uses; '' accepts every scanner


@dataclass(slots=True)
class Allocation:
    """Packs of one batch set aside in one slot for a line."""

    slot: str
    batch: str
    expiry: str | None
    quantity: int
    picked: int = 0

    @property
    def remaining(self) -> int:
        return self.quantity - self.picked


@dataclass(slots=True)
class ListLine:
    gtin: str
    quantity: int
    batch: str
    allocations: list[Allocation] = field(default_factory=list)

    @property
    def allocated(self) -> int:
        return sum(a.quantity for a in self.allocations)

    @property
    def picked(self) -> int:
        return sum(a.picked for a in self.allocations)

    @property
    def short(self) -> int:
        return self.quantity - self.allocated

    @property
    def remaining(self) -> int:
        return self.allocated - self.picked

    def set_aside(self, extra: Iterable[Allocation]) -> None:
        """More packs set aside for the line: one allocation per slot and batch."""
        for new in extra:
            same = [a for a in self.allocations if (a.slot, a.batch) == (new.slot, new.batch)]
            if same:
                same[0].quantity += new.quantity
            else:
                self.allocations.append(new)

    def accepts(self, batch: str) -> bool:
        return not self.batch or self.batch == batch

    def count_pick(self, given: Allocation, slot: str, batch: str, expiry: str | None) -> None:
        """One pack of this line picked from `slot` (of `batch`), counted against `given` (an
        allocation with packs remaining). Taken from elsewhere
        than `given`'s slot and batch, `given` gives one pack up and the pack counts where it
        was taken: the allocations say where the packs came from, so a pack put back is wanted
        again where it lies, and what `given` held is free for others at once."""
        if (given.slot, given.batch) == (slot, batch):
            given.picked += 1
            return
        given.quantity -= 1
        if not given.quantity:
            self.allocations.remove(given)
        here = next((a for a in self.allocations if (a.slot, a.batch) == (slot, batch)), None)
        if here is None:
            here = Allocation(slot, batch, expiry, 0)
            self.allocations.append(here)
        here.quantity += 1
        here.picked += 1


@dataclass(frozen=True, slots=True)
class TakenTag:
    """A tagged pack picked for an open list: the line it counted for, and the pack as it was on
    the shelf (so that, put back, it is booked back as it was and counted back where it lies)."""

    line: int  # index into the list's lines
    slot: str
    batch: str
    serial: str
    expiry: str | None


@dataclass(slots=True)
class PickList:
    """A pick list being worked on; `picker_no` (0-3) chooses its colour."""

    pick_id: str
    picker_no: int
    lines: list[ListLine]
    created_at: float
    touched_at: float
    picker: str = ""
    scanner: str = ""
    state: PickState = PickState.OPEN
    reminded: bool = False
    taken: dict[str, TakenTag] = field(default_factory=dict)  # EPC -> the tagged pack picked
    # Its place in the order the open lists began (1, 2, ...; 0 in rows from before there was
    # one): which of two is older, whatever the clock said when each began.
    started: int = 0

    @property
    def finished(self) -> bool:
        return all(line.remaining == 0 for line in self.lines)

    def wanted_at(self, slot: str) -> list[tuple[int, ListLine, Allocation]]:
        """(line number, line, allocation) still to be picked from `slot`."""
        return [
            (n, line, a)
            for n, line in enumerate(self.lines)
            for a in line.allocations
            if a.slot == slot and a.remaining > 0
        ]

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> PickList:
        raw: dict[str, Any] = json.loads(text)
        lines = [
            ListLine(
                line["gtin"],
                line["quantity"],
                line["batch"],
                [Allocation(**a) for a in line["allocations"]],
            )
            for line in raw.pop("lines")
        ]
        state = PickState(raw.pop("state"))
        taken = {epc: TakenTag(**tag) for epc, tag in raw.pop("taken", {}).items()}
        return cls(lines=lines, state=state, taken=taken, **raw)

    def summary(self) -> list[dict[str, object]]:
        """Each line's figures, as reported on `cmd-result`."""
        return [
            {
                "line": n + 1,
                "gtin": line.gtin,
                "batch": line.batch or None,
                "quantity": line.quantity,
                "allocated": line.allocated,
                "picked": line.picked,
                "short": line.short,
                "slots": [
                    {"slot": a.slot, "batch": a.batch, "expiry": a.expiry, "quantity": a.quantity}
                    for a in line.allocations
                ],
            }
            for n, line in enumerate(self.lines)
        ]


def allocate(
    line: PickLine,
    fefo: Iterable[StockLine],
    recalled: Collection[tuple[str, str]],
    reserved: dict[tuple[str, str, str], int],
) -> ListLine:
    """Set packs aside for `line` from `fefo` (available, unexpired lines, earliest expiry
    first), skipping recalled batches and what other pick lists hold (`reserved`, keyed by
    slot, GTIN and batch, which this updates)."""
    result = ListLine(line.gtin, line.quantity, line.batch)
    by_place: dict[tuple[str, str], Allocation] = {}
    skip = dict(reserved)  # units held by others come first in the same FEFO order
    need = line.quantity
    for stock in fefo:
        if need == 0:
            break
        if (stock.gtin, stock.batch) in recalled or (line.batch and stock.batch != line.batch):
            continue
        key = (stock.slot, stock.gtin, stock.batch)
        held = min(skip.get(key, 0), stock.quantity)
        if held:
            skip[key] -= held
        take = min(stock.quantity - held, need)
        if take <= 0:
            continue
        place = by_place.get((stock.slot, stock.batch))
        if place is None:
            place = Allocation(stock.slot, stock.batch, stock.expiry, 0)
            by_place[(stock.slot, stock.batch)] = place
            result.allocations.append(place)
        place.quantity += take
        reserved[key] = reserved.get(key, 0) + take
        need -= take
    return result


def allocate_lines(
    lines: Sequence[PickLine],
    fefo_of: Callable[[str], Iterable[StockLine]],
    recalled: Collection[tuple[str, str]],
    reserved: dict[tuple[str, str, str], int],
) -> list[ListLine]:
    """Allocate a list's lines (`allocate`; `fefo_of` a GTIN's stock in FEFO order), returned
    in their order. Lines naming a batch go first: a line taking any batch, earliest expiry
    first, must not take the only pack of the batch another line of the list asks for."""
    allocated: dict[int, ListLine] = {}
    for n in sorted(range(len(lines)), key=lambda n: not lines[n].batch):
        allocated[n] = allocate(lines[n], fefo_of(lines[n].gtin), recalled, reserved)
    return [allocated[n] for n in range(len(lines))]


def reservations(lists: Iterable[PickList]) -> dict[tuple[str, str, str], int]:
    """What open pick lists still hold: (slot, GTIN, batch) -> packs."""
    held: dict[tuple[str, str, str], int] = {}
    for pick in lists:
        for line in pick.lines:
            for a in line.allocations:
                if a.remaining > 0:
                    key = (a.slot, line.gtin, a.batch)
                    held[key] = held.get(key, 0) + a.remaining
    return held
