"""Put-away sessions: a delivery being put on the shelves at one scanner, in one colour.

A session holds what its notice (`cmd/putaway`) said to expect, the packs scanned and waiting
to be put (each with the slot chosen for it), and what was put, refused or not expected. Its
whole state is one JSON document in the ledger file, written in the transaction that changes
it, so a restart carries on where it stopped. Times are seconds since the epoch from the
keeper's clock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any

from inventory.putaway.checks import PASSING_REASONS, Reason


class SessionState(StrEnum):
    OPEN = "open"
    DONE = "done"  # every line of the notice put, nothing waiting
    ENDED = "ended"  # ended by a person (cmd/putaway-end)
    TIMED_OUT = "timed_out"


@dataclass(frozen=True, slots=True)
class NoticeLine:
    """One line of an advance shipping notice: `batch` and `expiry` may be '' / None."""

    gtin: str
    quantity: int
    batch: str = ""
    expiry: str | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """An advance shipping notice as received: the delivery, its lines, the request it
    delivers (its packs count toward that request first) and the scanner it is worked at."""

    delivery_id: str
    lines: tuple[NoticeLine, ...]
    request_id: str = ""
    scanner: str = ""  # '' : the first put-away scanner that scans a pack of it


@dataclass(slots=True)
class ExpectedLine:
    gtin: str
    quantity: int
    batch: str = ""
    expiry: str | None = None
    received: int = 0
    # The expiry dates of packs counted on it that differ from the one announced, each once.
    other_expiries: list[str] = field(default_factory=list)

    def accepts(self, gtin: str, batch: str) -> bool:
        return self.gtin == gtin and (not self.batch or self.batch == batch)

    def count(self, expiry: str | None) -> None:
        """One pack put on this line, expiring on `expiry` (as scanned)."""
        self.received += 1
        if self.expiry and expiry and expiry != self.expiry and expiry not in self.other_expiries:
            self.other_expiries.append(expiry)

    @property
    def missing(self) -> int:
        """Packs announced and not received."""
        return max(self.quantity - self.received, 0)

    @property
    def excess(self) -> int:
        """Packs received beyond those announced."""
        return max(self.received - self.quantity, 0)

    def report(self) -> dict[str, object]:
        return {
            "gtin": self.gtin,
            "batch": self.batch or None,
            "expiry": self.expiry,
            "quantity": self.quantity,
            "received": self.received,
            "missing": self.missing,
            "excess": self.excess,
            "other_expiries": list(self.other_expiries),
        }


@dataclass(slots=True)
class WaitingPack:
    """A pack scanned and lit, not yet put: it goes to `slot`."""

    gtin: str
    batch: str
    expiry: str | None
    serial: str
    slot: str
    seen_epc: str = ""  # its tag, seen in a slot that was not lit for it
    # When its session first lit its slot (seconds; 0 in older rows), and its place in the
    # order packs were lit (0 in older rows: their time tells), kept by the packs lit there
    # while it still has some waiting there: which session a slot shows first.
    lit_at: float = 0.0
    lit_order: int = 0


@dataclass(frozen=True, slots=True)
class PressedPack:
    """A counted pack put into `slot` by its button at `at` (seconds): a tag of its GTIN read
    there soon after may be its own (inventory.putaway.laid)."""

    gtin: str
    batch: str
    slot: str
    at: float


@dataclass(frozen=True, slots=True)
class RefusedPack:
    """A pack refused (it goes back with the delivery's paperwork, or waits for room);
    `held_in`: the slot it was laid in all the same, booked there quarantined."""

    gtin: str
    batch: str
    expiry: str | None
    serial: str
    reason: str
    held_in: str = ""

    def report(self) -> dict[str, object]:
        return {**_fields(self), "serial": self.serial or None, "held_in": self.held_in or None}


@dataclass(slots=True)
class Unexpected:
    """Packs put that the notice did not announce (or more than a line said)."""

    gtin: str
    batch: str
    quantity: int = 0


@dataclass(slots=True)
class PutawaySession:
    """A delivery being put away; `number` (0-3, shared with pick lists) chooses its colour,
    None until its first pack is scanned."""

    delivery_id: str
    created_at: float
    touched_at: float
    scanner: str = ""
    station: str = ""  # the receiving station's slot: red there when a pack is refused
    request_id: str = ""
    actor: str = ""  # who scans its packs in (the badge holder at the desk), for the movements
    number: int | None = None
    announced: bool = False  # a notice said what to expect
    paused: bool = False  # timed out with packs still to come: waits for them again
    lines: list[ExpectedLine] = field(default_factory=list)
    waiting: list[WaitingPack] = field(default_factory=list)
    # Lit and never confirmed when it paused: each may lie in its slot unbooked.
    let_go: list[WaitingPack] = field(default_factory=list)
    # Counted packs put by button a moment ago whose tag (if they carry one) has not been seen
    # yet: a tag of their GTIN read in their slot soon after is theirs, not another pack's.
    untagged: list[PressedPack] = field(default_factory=list)
    # Serialized packs put (`pack_key`) -> when (seconds): scanned again at its desk a moment
    # later, such a pack is the same one, not a copy.
    put_serials: dict[str, float] = field(default_factory=dict)
    unexpected: list[Unexpected] = field(default_factory=list)
    put: int = 0
    refused: int = 0
    refusals: list[RefusedPack] = field(default_factory=list)
    state: SessionState = SessionState.OPEN

    @property
    def reference(self) -> str:
        """What the movements it books reference: the request it delivers, else itself."""
        return self.request_id or self.delivery_id

    @property
    def at_work(self) -> bool:
        """Packs of it are being scanned (a notice waits for its delivery until then), or it
        was put in full a moment ago (`finishing`)."""
        return self.number is not None or not self.announced or self.finishing

    @property
    def finishing(self) -> bool:
        """A notice put in full at its desk, nothing of it lit: it closes done unless a pack
        more of a product it announced is scanned there first (its excess)."""
        return self.complete and not self.paused

    def rest(self) -> None:
        """Put in full, nothing of it lit: it holds no colour while it waits for a pack more
        (one scanned takes a free colour again)."""
        if self.finishing:
            self.number = None

    @property
    def missing(self) -> int:
        """Packs its lines announced and not received (put)."""
        return sum(line.missing for line in self.lines)

    @property
    def still_to_come(self) -> bool:
        """A notice with a line not yet received in full (packs put; waiting ones not counted)."""
        return self.announced and any(line.received < line.quantity for line in self.lines)

    def pause(self) -> None:
        """A break past the timeout with packs still to come: the packs lit and never confirmed
        are let go (reported by the caller first), the colour is freed, and the session waits
        for its packs as it did before its first scan; what was put stays counted. The packs
        let go of are kept (`let_go`): one seen on a shelf by its tag is still its own."""
        self.let_go += self.waiting
        self.waiting, self.number, self.paused = [], None, True

    def scanned_again(self, gtin: str, batch: str, serial: str) -> None:
        """A pack it let go of is scanned again: it waits to be put like any other."""
        for pack in self.let_go:
            if (pack.gtin, pack.serial) == (gtin, serial) and (serial or pack.batch == batch):
                self.let_go.remove(pack)
                return

    @property
    def complete(self) -> bool:
        """A notice whose every line is put in full, with nothing waiting."""
        return (
            self.announced
            and not self.waiting
            and all(line.received >= line.quantity for line in self.lines)
        )

    def still_expected(self, gtin: str, batch: str) -> int:
        """How many more packs of `gtin` and `batch` its lines await, beyond those put and
        those waiting to be put (0 when none); each waiting pack taken by the line it will be
        counted on when put (`count_put`)."""
        room, _ = self._awaiting(self.waiting)
        return sum(room[i] for i in self._taking(gtin, batch))

    @property
    def left_waiting(self) -> list[WaitingPack]:
        """The packs lit and never confirmed: those waiting, and those let go of at a pause."""
        return [*self.waiting, *self.let_go]

    def missing_left_waiting(self) -> list[WaitingPack]:
        """The packs left waiting that its lines count missing (each taken by the line it
        would have been counted on when put): they came, and may lie unbooked in their slot."""
        return self._awaiting(self.left_waiting)[1]

    def _awaiting(self, packs: list[WaitingPack]) -> tuple[list[int], list[WaitingPack]]:
        """What each line still awaits (by index) once `packs` are counted on it, and those
        of `packs` that a line awaited (the rest would be in excess, or not announced)."""
        room, taken = [line.missing for line in self.lines], []
        for pack in packs:
            line = next((i for i in self._taking(pack.gtin, pack.batch) if room[i] > 0), None)
            if line is not None:
                room[line] -= 1
                taken.append(pack)
        return room, taken

    def announced_otherwise(self, gtin: str, batch: str, expiry: str | None) -> str | None:
        """The expiry its notice announced for this pack, when that is not `expiry` (as
        scanned): None when a line that takes the pack announced `expiry`, or none a date."""
        dates = {ln.expiry for ln in self.lines if ln.accepts(gtin, batch) and ln.expiry}
        return None if not dates or expiry is None or expiry in dates else min(dates)

    def drop(self, pack: WaitingPack) -> None:
        """`pack` (this very one, waiting or let go of) is no longer to be put."""
        for packs in (self.waiting, self.let_go):
            for i, held in enumerate(packs):
                if held is pack:
                    del packs[i]
                    return

    def waiting_at(self, slot: str) -> list[WaitingPack]:
        return [pack for pack in self.waiting if pack.slot == slot]

    def count_put(self, gtin: str, batch: str, expiry: str | None) -> None:
        """One pack put: counted on the first line of the notice with room for it, those
        naming its batch before those for any batch (a line for any batch must not fill with
        packs a line of their own awaits), else the first that takes it (in excess), else as
        not announced."""
        taking = [self.lines[i] for i in self._taking(gtin, batch)]
        line = next((ln for ln in taking if ln.received < ln.quantity), None)
        if line is None and taking:
            line = taking[0]
        if line is not None:
            line.count(expiry)
            return
        extra = next((u for u in self.unexpected if (u.gtin, u.batch) == (gtin, batch)), None)
        if extra is None:
            extra = Unexpected(gtin, batch)
            self.unexpected.append(extra)
        extra.quantity += 1

    def _taking(self, gtin: str, batch: str) -> list[int]:
        """The lines (by index) that take a pack of `gtin` and `batch`, in the order a pack is
        counted on them: those naming its batch first, then those for any batch."""
        taking = [i for i, line in enumerate(self.lines) if line.accepts(gtin, batch)]
        return sorted(taking, key=lambda i: not self.lines[i].batch)

    def refuse(self, pack: RefusedPack) -> None:
        """A pack refused: counted once (a serialized pack scanned again is the same pack)."""
        if pack.serial and any(
            (r.gtin, r.serial) == (pack.gtin, pack.serial) for r in self.refusals
        ):
            return
        self.refused += 1
        self.refusals.append(pack)

    def held(self, gtin: str, serial: str, slot: str) -> None:
        """A pack it refused lies in `slot`, booked there quarantined."""
        for i, pack in enumerate(self.refusals):
            if (pack.gtin, pack.serial) == (gtin, serial):
                self.refusals[i] = replace(pack, held_in=slot)

    def put_after_all(self, gtin: str, batch: str, serial: str) -> None:
        """A pack put that was refused before for a reason that passes (no colour free, no
        room, slot busy, a product added since, no expiry or no batch in the code scanned
        first): it is not a refused pack any more. A serialized pack by its serial; a counted
        one, one such refusal of its batch (or one refused for having none)."""
        for i, pack in enumerate(self.refusals):
            batch_of = pack.batch == batch or pack.reason == Reason.NO_BATCH
            same = (
                pack.serial == serial
                if serial
                else (not pack.serial and batch_of and pack.reason in PASSING_REASONS)
            )
            if pack.gtin == gtin and same:
                del self.refusals[i]
                self.refused -= 1
                return

    def summary(self) -> dict[str, object]:
        """The figures reported when the session pauses or ends, with the packs refused and
        those left waiting (lit, never confirmed: in their slot, or still in the tote), the
        ones let go of at a pause included: each may still lie unbooked in its slot."""
        left = self.left_waiting
        return {
            "lines": [line.report() for line in self.lines],
            "unexpected": [_fields(u) for u in self.unexpected],
            "put": self.put,
            "refused": self.refused,
            "waiting": len(left),
            "refused_packs": [r.report() for r in self.refusals],
            "left_waiting": [
                {
                    "gtin": p.gtin,
                    "batch": p.batch,
                    "expiry": p.expiry,
                    "serial": p.serial or None,
                    "slot": p.slot,
                }
                for p in left
            ],
        }

    def to_json(self) -> str:
        # json's default hook walks the dataclasses: far cheaper than asdict's deep copies,
        # and this is written with every pack scanned or put.
        return json.dumps(self, default=_fields, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> PutawaySession:
        raw: dict[str, Any] = json.loads(text)
        raw["lines"] = [ExpectedLine(**line) for line in raw["lines"]]
        raw["waiting"] = [WaitingPack(**pack) for pack in raw["waiting"]]
        raw["let_go"] = [WaitingPack(**pack) for pack in raw.get("let_go", ())]  # older rows
        # Rows of an older kind named no time of the press: long past, untagged for good.
        raw["untagged"] = [PressedPack(**p) for p in raw.get("untagged", ()) if "at" in p]
        raw["unexpected"] = [Unexpected(**u) for u in raw["unexpected"]]
        raw["refusals"] = [RefusedPack(**r) for r in raw.get("refusals", ())]  # none in older rows
        put = raw.get("put_serials", {})
        if isinstance(put, list):  # older rows named the packs put, not when: long ago
            raw["put_serials"] = dict.fromkeys(put, 0.0)
        raw["state"] = SessionState(raw["state"])
        return cls(**raw)

    @classmethod
    def from_notice(cls, notice: Notice, now: float) -> PutawaySession:
        lines = [ExpectedLine(ln.gtin, ln.quantity, ln.batch, ln.expiry) for ln in notice.lines]
        return cls(
            notice.delivery_id,
            now,
            now,
            scanner=notice.scanner,
            request_id=notice.request_id,
            announced=True,
            lines=lines,
        )


def pack_key(gtin: str, serial: str) -> str:
    """How a serialized pack is named (in `put_serials`, in alarm subjects)."""
    return f"{gtin}/{serial}"


def _fields(value: object) -> dict[str, object]:
    """A dataclass's fields by name, one level deep (for json.dumps)."""
    return {f.name: getattr(value, f.name) for f in fields(value)}  # type: ignore[arg-type]
