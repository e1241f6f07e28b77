"""Held (quarantined) packs leaving the shelf and coming back: why a line is held, the
`write_off` movement that takes one off the shelf (never a pick: a held pack is not handed
out), a tagged one written off only once it has stayed gone a while (`GoneHeld`: a read
dropped for a moment books nothing), and a tagged pack back on a shelf (seen by a fixed reader,
found by a count): held again when it was refused at delivery, when it left the shelves while
held (written off, booked out by a count that missed it) and was not released since, or when
its batch was recalled or expired (`held_on_return`, one rule for both), and the alarms its
absence raised ended, or its coming back raises. A tagged pack taken wrongly while picking and
not put back in time is booked out the same way (`unexpected_removal`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date
from functools import partial

from inventory.alarms.book import AlarmBook
from inventory.alarms.lifecycle import AlarmKind
from inventory.codes.identifiers import PackId
from inventory.errors import Refused
from inventory.ledger.commit import Commit
from inventory.ledger.movements import Movement, MovementKind, StockStatus
from inventory.picking.ledger_access import DeskLedger, PickLedger
from inventory.picking.outcome import Outcome, Shown
from inventory.putaway.sessions import pack_key
from inventory.stock.expiry_alarms import HELD_BY, follow_batch
from inventory.stock.slot_index import StockLine

Recalled = Collection[tuple[str, str]]  # (GTIN, batch) of every recalled batch
LEFT_HELD = (
    "off the shelves while quarantined, back on the shelf: held until a pharmacist releases it"
)


def held_why(line: StockLine, today: date, recalled: Recalled) -> str:
    """Why a quarantined line is held, in words: expired (on the site's `today`), recalled,
    both, or else held back (by a person, a refused delivery)."""
    why = []
    if line.expiry is not None and line.expiry < today.isoformat():
        why.append("expired")
    if (line.gtin, line.batch) in recalled:
        why.append("recalled")
    return " and ".join(why) or "held back"


def taken_off(line: StockLine, why: str, actor: str, how: str, quantity: int = 1) -> Movement:
    """`quantity` packs of a quarantined line written off: taken off the shelf (`how`)."""
    reason = f"taken off the shelf while quarantined ({why}): {how}"
    return line.leaving(MovementKind.WRITE_OFF, None, actor, reason, quantity=quantity)


def off_the_shelf(line: StockLine, how: str, today: date, recalled: Recalled) -> Movement:
    """A tagged pack gone from its slot, not for a pick list: picked when it was available;
    written off when it was quarantined (it was never to be handed out)."""
    if line.status is StockStatus.AVAILABLE:
        return line.leaving(MovementKind.PICK, None, "system", how)
    return taken_off(line, held_why(line, today, recalled), "system", how)


def unexpected_removal(
    keeper: PickLedger,
    alarms: AlarmBook,
    shown: Shown,
    line: StockLine,
    recalled: Recalled,
    out: Outcome,
) -> None:
    """A tagged pack taken wrongly (`shown`, the mistake) and not put back in time: booked out
    (picked, or written off when it was quarantined), with the alarm that someone must see
    where it went."""
    epc = str(shown.epc)
    how = f"taken at the shelf by mistake ({shown.mistake.reason}) and not put back"
    gone = off_the_shelf(line, how, keeper.calendar.today(), recalled)
    detail = {"epc": epc, "slot": shown.mistake.slot, "reason": shown.mistake.reason}
    with keeper.group():
        out.commits.append(keeper.commit([gone]))
        out.commits.append(
            alarms.raise_alarm(
                AlarmKind.UNEXPECTED_REMOVAL,
                epc,
                {**detail, "gtin": line.gtin, "batch": line.batch, "expiry": line.expiry},
            )
        )
    out.booked_epcs.append(epc)
    out.notes.append(f"{epc} was not put back in {shown.mistake.slot}: unexpected removal")


@dataclass(frozen=True, slots=True)
class _Gone:
    slot: str
    until: float  # written off when not seen back by then (the keeper's seconds)


class GoneHeld:
    """Tagged packs a fixed reader stopped seeing with no pick list open: an available one is
    picked at once; a quarantined one is written off once it has stayed gone `wait()` seconds
    (the pick desk's `mistake_seconds`), by `tick`. Seen back in a slot before then (`back`),
    nothing is booked: a read that dropped for a moment is not a pack taken off the shelf.
    Kept in memory: after a restart the reader misses the pack again and it waits anew."""

    def __init__(
        self,
        keeper: PickLedger,
        alarms: AlarmBook,
        recalled: Callable[[], Recalled],
        wait: Callable[[], float],
    ):
        self._keeper = keeper
        self._alarms = alarms
        self._recalled = recalled
        self._wait = wait
        self._gone: dict[str, _Gone] = {}  # EPC -> where it left from, and until when

    def left(self, line: StockLine, slot: str) -> Outcome:
        """The tagged pack of `line` is no longer seen in `slot`."""
        keeper, out, epc = self._keeper, Outcome(), str(line.epc)
        if line.status is StockStatus.AVAILABLE:
            today = keeper.calendar.today()
            gone = off_the_shelf(line, f"its tag left {slot}", today, self._recalled())
            out.commits.append(keeper.commit([gone]))
            out.booked_epcs.append(epc)
            return out
        wait = self._wait()
        self._gone[epc] = _Gone(slot, keeper.seconds() + wait)
        out.notes.append(
            f"held pack {epc} is gone from {slot}: written off unless seen back within {wait:g} s"
        )
        return out

    @property
    def waiting(self) -> bool:
        """Held packs are gone and not written off yet: the clock must beat for them."""
        return bool(self._gone)

    def back(self, epc: str) -> bool:
        """A tagged pack is seen on a shelf again: not written off (whether it was waited
        for)."""
        return self._gone.pop(epc, None) is not None

    def __contains__(self, epc: object) -> bool:
        """The tagged pack is gone and waited for (the one a person most likely took)."""
        return epc in self._gone

    def taken(self, epc: str) -> None:
        """The pack waited for was written off otherwise (by hand): no longer waited for,
        unless the transaction that did so fails."""
        gone = self._gone.pop(epc, None)
        if gone is not None:
            self._keeper.rollback.add(partial(self._gone.setdefault, epc, gone))

    def tick(self) -> Outcome:
        """Write off the held packs gone for their whole wait."""
        keeper, out = self._keeper, Outcome()
        now = keeper.seconds()
        for epc, gone in [(e, g) for e, g in self._gone.items() if g.until <= now]:
            del self._gone[epc]
            line = keeper.line_of_epc(epc)
            if line is None or line.slot != gone.slot:  # booked out or moved meanwhile
                continue
            how = f"its tag left {gone.slot}"
            try:
                with keeper.group():
                    keeper.rollback.add(partial(self._gone.setdefault, epc, gone))  # not written
                    today = keeper.calendar.today()
                    out.commits.append(
                        keeper.commit([off_the_shelf(line, how, today, self._recalled())])
                    )
                    out.commits.append(refused_pack_gone(self._alarms, line))
            except Refused as exc:  # nothing of it written: the rest of the beat goes on
                out.refusals.append(f"{epc} gone from {gone.slot}, not written off: {exc}")
                continue
            out.booked_epcs.append(epc)
            out.notes.append(f"held pack {epc} did not come back to {gone.slot}: written off")
        return out


def refused_pack_gone(alarms: AlarmBook, line: StockLine) -> Commit:
    """A pack refused at delivery but laid on a shelf (held there, its `refused_pack` alarm
    `on_shelf` asking to take it out), now taken off: that alarm ends; the pack goes back with
    its delivery note."""
    subject = pack_key(line.gtin, line.serial)
    alarm = alarms.get(AlarmKind.REFUSED_PACK, subject)
    if not line.serial or alarm is None or alarm.detail.get("on_shelf") is not True:
        return Commit()
    return alarms.clear(AlarmKind.REFUSED_PACK, subject)


@dataclass(frozen=True, slots=True)
class Hold:
    """Why a tagged pack back on a shelf is held where it lies: its quarantine's actor and
    reason; `expired`: its batch's expired alarm is raised (or joined); `refused`: a delivery
    refused it, its `refused_pack` alarm is raised where it lies."""

    actor: str
    reason: str
    expired: bool = False
    refused: bool = False


def back_dates(keeper: DeskLedger, pack: PackId) -> tuple[str, str | None]:
    """The batch and expiry of a tagged pack back on a shelf: as the ledger last knew it; one
    the ledger never held, as the desk that refused it scanned it ('' and None: unknown)."""
    known = keeper.known_dates(pack.epc, pack.gtin, pack.serial)
    refused = keeper.refused_pack(pack) if known == ("", None) else None
    return known if refused is None else (refused.batch, refused.expiry)


def held_on_return(
    keeper: DeskLedger, recalled: Recalled, pack: PackId, batch: str, expiry: str | None
) -> Hold | None:
    """Whether a tagged pack booked back on a shelf (of `batch`, `expiry`) is held there: a
    delivery refused it as one that must not reach a shelf (wherever it turns up); its batch
    recalled; expired (off the shelf then, or written off as it left); or it left the shelves
    while quarantined, by whatever way (written off, booked out by a count that missed it), for
    whatever reason, and was not released since: a pharmacist releases it. None: it is
    available. Decided before it is booked back, or after (its last leaving is the same)."""
    refused = keeper.refused_pack(pack)
    if refused is not None:
        why = f"refused at delivery ({refused.reason}): held until a pharmacist has looked at it"
        return Hold("system", why, refused=True)
    if (pack.gtin, batch) in recalled:
        return Hold("system", "recall: back on the shelf")
    if expiry is not None and expiry < keeper.calendar.today().isoformat():
        return Hold(*HELD_BY, expired=True)
    if keeper.left_held(pack.epc):
        return Hold("system", LEFT_HELD)
    return None


def back_alarms(
    keeper: DeskLedger, alarms: AlarmBook, epc: str, gtin: str, batch: str, hold: Hold | None
) -> list[Commit]:
    """The alarms of a tagged pack booked on a shelf again (seen by a fixed reader, found by a
    count), held as `hold` says: taken by mistake and not put back in time, it is back after
    all (its `unexpected_removal` alarm ends); held as expired, it raises (or joins) its
    batch's expired alarm; refused at delivery, its `refused_pack` alarm names where it lies."""
    commits = [alarms.clear(AlarmKind.UNEXPECTED_REMOVAL, epc)]
    if hold is not None and hold.expired:
        today = keeper.calendar.today
        raised = follow_batch(alarms, keeper.index, gtin, batch, today, None, True)
        commits.append(Commit(alarms=tuple(raised), messages=len(raised)))
    line = keeper.line_of_epc(epc) if hold is not None and hold.refused else None
    if line is not None:
        commits.append(keeper.refused_held(line))
    return commits


def hold_again(keeper: DeskLedger, alarms: AlarmBook, recalled: Recalled, epc: str) -> list[Commit]:
    """A tagged pack back on a shelf, booked there available: held where it lies when
    `held_on_return` says so, and its alarms as `back_alarms` leaves them."""
    line = keeper.line_of_epc(epc)
    if line is None:
        return back_alarms(keeper, alarms, epc, "", "", None)
    hold = None
    if line.status is StockStatus.AVAILABLE:
        pack = PackId(epc, line.gtin, line.serial)
        hold = held_on_return(keeper, recalled, pack, line.batch, line.expiry)
    with keeper.group():
        held = [] if hold is None else [keeper.commit([line.held(hold.actor, hold.reason)])]
        return held + back_alarms(keeper, alarms, epc, line.gtin, line.batch, hold)
