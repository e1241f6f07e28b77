"""Packs on a shelf that no put confirmed, and packs of a delivery scanned again once put.

A pack its delivery let go of (lit when the session paused, or still waiting when it ended or
timed out) may be laid in a slot all the same, and so may a pack refused at the desk. Its tag
seen on a shelf tells which it was, by GTIN and serial:

- a pack let go of is booked with the batch and expiry scanned at the desk: a put of its
  delivery while that is open (paused), else a `receive` referencing what the delivery
  referenced (its request);
- a refused pack (expired, short-dated, recalled), or one let go of that has expired or been
  recalled since, is booked quarantined where it lies, with its batch and expiry: never
  pickable, seen by the expiry sweep and the stocktake, red there and a `refused_pack` alarm
  (`on_shelf`) until a pharmacist has looked at it. Its delivery, while open, counts it as
  refused (let go of no more) and notes where it is held (`held_in`). A refused pack found by
  a count instead is held the same way (`refused`, `refused_held`: the rule of a pack back on
  a shelf, inventory.stock.held_packs).

A counted pack (scanned without a serial) put by its button has its tag, if it carries one,
read in its slot soon after: that tag is its own, not another pack's (inventory.putaway
.pressed). A tag the ledger held before (booked, then taken off a shelf) is a pack coming back,
booked as returned: never a counted pack of a delivery, pressed for or lit. What a tag's serial
names (a pack booked, refused or let go of) goes before such a counted pack, and both go before
a counted pack still waiting to be put, but for one lit only in other slots: a tag read where a
counted pack was just pressed for is then that lit pack, laid astray (red there).

A press where a pack let go of lies blinks red: nothing was lit there and the pack is not
booked; scanned again, it is lit again. A pack of a delivery scanned again once it is on the
shelves, at the desk it was scanned in at and less than `picking.timeout_seconds` after its
put, is the same pack, not a second one with its serial: nothing is booked or suspected.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from inventory.alarms.lifecycle import AlarmKind
from inventory.codes.barcodes import PackScan
from inventory.codes.identifiers import PackId
from inventory.ledger.commit import Commit
from inventory.ledger.movements import Movement, MovementKind, StockStatus
from inventory.picking.outcome import Outcome
from inventory.putaway.board import PutawayBoard
from inventory.putaway.checks import REFUSED_PACK_REASONS, held_back
from inventory.putaway.known_packs import LAID_DAYS
from inventory.putaway.ledger_access import PutawayLedger
from inventory.putaway.pressed import PressedPacks
from inventory.putaway.sessions import (
    PutawaySession,
    RefusedPack,
    SessionState,
    WaitingPack,
    pack_key,
)
from inventory.stock.slot_index import StockLine

# Books one waiting (or let go) pack of an open session as put: (session, pack, slot, how,
# outcome, tag).
Book = Callable[[PutawaySession, WaitingPack, str, str, Outcome, PackId | None], None]
_Found = tuple[PutawaySession, WaitingPack | RefusedPack]


class ShelfFinds:
    """What the shelf part of the put-away desk does with a pack no put confirmed."""

    def __init__(self, keeper: PutawayLedger, board: PutawayBoard, book: Book):
        self._keeper = keeper
        self._board = board
        self._book = book
        self._pressed = PressedPacks(keeper, board)

    def accounts_for(self, tag: PackId, slot: str, lit_in: str) -> bool:
        """Whether a tag the ledger does not hold, seen in `slot`, is another pack than the
        waiting counted pack of its GTIN lit in `lit_in`: one the ledger held before, one
        booked by its code, refused or let go of by its serial, or, that pack being lit in
        `slot`, a counted pack just put there by button. Lit only elsewhere, that pack is the
        tag's, laid astray: the press in `slot` booked the pack pressed for already."""
        if self._booked_by_code(tag) or self._known(tag) is not None or self._back(tag):
            return True
        return lit_in == slot and bool(self._pressed.in_slot(tag.gtin, slot))

    def tag_seen(self, tag: PackId, slot: str) -> Outcome | None:
        """A tag the ledger does not hold, seen in `slot`: booked as the pack a delivery let
        go of or refused (see the module), or the tag of a counted pack just put there by
        button; None when no delivery knows it so (or the ledger holds its serial, booked by
        its code: the tag joins that pack; or held it before: a pack coming back)."""
        keeper = self._keeper
        if self._booked_by_code(tag):
            return None
        found = self._known(tag)
        if found is None:
            pressed = self._pressed.in_slot(tag.gtin, slot)
            if pressed and not self._back(tag):
                return self._pressed.tag_of(pressed, tag)
            found = self._counted_let_go(tag, slot)
        if found is None:
            return None
        session, pack = found
        if isinstance(pack, RefusedPack) and pack.reason not in REFUSED_PACK_REASONS:
            return None  # refused for a reason that passes (no room): a tag like any other
        if isinstance(pack, WaitingPack):
            if self._back(tag):
                return None  # booked before and taken off the shelf: back, not delivered
            if session.state is SessionState.OPEN:  # put, or held there and refused in it
                out = Outcome()
                self._book(session, pack, slot, "tag", out, tag)
                return out
            expiry = date.fromisoformat(pack.expiry) if pack.expiry else None
            scanned = PackScan(pack.gtin, expiry, pack.batch, tag.serial)
            held = held_back(scanned, keeper.calendar.today(), keeper.picks.recalled)
            if held is None:
                return self._receive(session, pack, tag, slot)
            pack = RefusedPack(pack.gtin, pack.batch, pack.expiry, tag.serial, str(held.reason))
        return self.hold(session, pack, tag, slot)

    def pressed(self, slot: str) -> Outcome | None:
        """A press on `slot`, where nothing is lit: red when a pack a delivery let go of lies
        there (it is not booked); None otherwise."""
        board = self._board
        lying = [(s.delivery_id, p) for s in board.by_age() for p in s.let_go if p.slot == slot]
        left = board.unbooked.get(slot)
        if not lying and (left is None or left[1] <= self._keeper.seconds()):
            return None
        delivery_id = lying[0][0] if lying else left[0] if left else ""
        board.show_red(slot)
        why = (
            f"MISTAKE at {slot}: button pressed where nothing is lit; a pack of delivery "
            f"{delivery_id} was lit there and never confirmed: it is not booked, scan it again"
        )
        return Outcome(putaway_mistakes=[why], lights_changed=True)

    def rescanned(self, scan: PackScan, scanner: str) -> Outcome | None:
        """A serialized pack on the shelves scanned at `scanner`, where the delivery that put
        it had it scanned in, less than `picking.timeout_seconds` after that put: the same
        pack scanned again (nothing to do); None otherwise (elsewhere, or later, a pack with
        its serial is judged as any other: a copy until a pharmacist has looked)."""
        keeper = self._keeper
        since = keeper.seconds() - keeper.picks.times.timeout_seconds
        put = self._board.recent.since(scan.gtin, scan.serial, since)
        if put is None or put.desk != scanner:
            return None
        line = next(iter(keeper.index.lines_of(scan.gtin, scan.serial)), None)
        if line is None:
            return None
        note = (
            f"put-away {put.delivery_id}: GTIN {scan.gtin} serial {scan.serial} scanned again "
            f"at {scanner}; it is on the shelves already, in {line.slot}: nothing to do"
        )
        return Outcome(putaway_notes=[note])

    # Internals -------------------------------------------------------------------------------

    def _back(self, tag: PackId) -> bool:
        """The ledger held this tag's pack before (booked, then taken off a shelf): a pack
        coming back (booked as returned, with what the ledger knew of it), never a pack of a
        delivery."""
        return self._keeper.held_before(tag.epc, tag.gtin, tag.serial)

    def _booked_by_code(self, tag: PackId) -> bool:
        """The ledger holds a pack with the tag's serial (booked by its code)."""
        return bool(self._keeper.index.lines_of(tag.gtin, tag.serial))

    def _known(self, tag: PackId) -> _Found | None:
        """The session that let go of this pack or refused it, by its serial: an open one,
        else one closed lately."""
        return self._open(tag) or self._closed(tag)

    def _open(self, tag: PackId) -> _Found | None:
        """The open session that let go of this pack (by serial) or refused it."""
        for session in self._board.by_age():
            for pack in session.let_go:
                if (pack.gtin, pack.serial) == (tag.gtin, tag.serial):
                    return session, pack
            refused = _refused(session, tag)
            if refused is not None:
                return session, refused
        return None

    def _counted_let_go(self, tag: PackId, slot: str) -> _Found | None:
        """A counted pack of the tag's GTIN an open session let go of (laid in `slot`
        first)."""
        counted = [
            (s, p)
            for s in self._board.by_age()
            for p in s.let_go
            if (p.gtin, p.serial) == (tag.gtin, "")
        ]
        counted.sort(key=lambda found: found[1].slot != slot)
        return next(iter(counted), None)

    def _closed(self, tag: PackId) -> _Found | None:
        """The latest session no longer open, closed in the last `LAID_DAYS` days, that left
        this pack waiting or refused it."""
        since = self._keeper.seconds() - LAID_DAYS * 86400
        delivery_id = self._board.closed.delivery_of(tag.gtin, tag.serial, since)
        session = None if delivery_id is None else self._board.store.session(delivery_id)
        if session is None:
            return None
        for pack in (*session.waiting, *session.let_go):
            if (pack.gtin, pack.serial) == (tag.gtin, tag.serial):
                return session, pack
        refused = _refused(session, tag)
        return None if refused is None else (session, refused)

    def _receive(
        self, session: PutawaySession, pack: WaitingPack, tag: PackId, slot: str
    ) -> Outcome:
        """A pack a delivery no longer open left waiting, seen in `slot`: booked in with what
        the desk scanned, toward what the delivery referenced."""
        out, keeper = Outcome(), self._keeper
        movement = _laid(
            MovementKind.RECEIVE,
            pack,
            tag,
            slot,
            actor=session.actor or "system",
            reason=f"left waiting by delivery {session.delivery_id} ({session.state}), "
            f"its tag seen in {slot}",
            reference=session.reference,
        )
        with keeper.group():
            out.commits.append(keeper.commit([movement]))
            self._board.booked(pack.gtin, tag.serial)
        out.placed[tag.epc] = slot
        self._board.recent.record(pack.gtin, tag.serial, session, keeper.seconds())
        if self._board.unbooked.get(pack.slot, ("",))[0] == session.delivery_id:
            del self._board.unbooked[pack.slot]  # what was lit there is booked now
        # Laid where nothing was lit for it, it made the slot red: booked, it is no mistake.
        out.lights_changed = self._board.tag_booked(tag.epc)
        out.putaway_notes.append(
            f"put-away {session.delivery_id} ({session.state}): GTIN {pack.gtin} serial "
            f"{tag.serial}, left waiting, seen in {slot}: booked in with batch {pack.batch}"
        )
        return out

    def hold(self, session: PutawaySession, pack: RefusedPack, tag: PackId, slot: str) -> Outcome:
        """A pack that must not reach a shelf, seen in `slot`: booked there quarantined, red
        there, and an alarm that says so."""
        keeper, what = self._keeper, _what(session, pack)
        movement = _laid(
            MovementKind.PUT_AWAY,
            pack,
            tag,
            slot,
            reason=f"{what}, laid in {slot} all the same: held there",
            reference=session.delivery_id,
            to_status=StockStatus.QUARANTINED,
        )
        with keeper.group():
            held = keeper.commit([movement])
            alarm = self._held_there(session, pack, tag.serial, slot)
        self._board.show_red(slot)
        mistake = f"MISTAKE at {slot}: GTIN {pack.gtin} serial {tag.serial} was {what}"
        out = Outcome([held, alarm], putaway_mistakes=[mistake], lights_changed=True)
        out.placed[tag.epc] = slot
        return out

    def refused(self, tag: PackId) -> RefusedPack | None:
        """The pack a delivery refused as one that must not reach a shelf (expired, short
        shelf life, recalled), by the tag's serial: what its desk scanned and why; None when
        no delivery open, or closed in the last `LAID_DAYS` days, refused it so."""
        found = self._refusal(tag)
        return None if found is None else found[1]

    def refused_held(self, line: StockLine) -> Commit:
        """A pack a delivery refused, booked quarantined in `line` by another way than its tag
        seen by a fixed reader (found by a count): its `refused_pack` alarm naming the slot,
        and its delivery, while open, notes where it is held; as `hold` does."""
        found = (
            None if line.epc is None else self._refusal(PackId(line.epc, line.gtin, line.serial))
        )
        return Commit() if found is None else self._held_there(*found, line.serial, line.slot)

    def _refusal(self, tag: PackId) -> tuple[PutawaySession, RefusedPack] | None:
        """The delivery that refused this pack as one that must not reach a shelf, and the
        pack as it refused it (see `refused`)."""
        found = self._known(tag)
        if found is None:
            return None
        session, pack = found
        if isinstance(pack, RefusedPack) and pack.reason in REFUSED_PACK_REASONS:
            return session, pack
        return None

    def _held_there(
        self, session: PutawaySession, pack: RefusedPack, serial: str, slot: str
    ) -> Commit:
        """The `refused_pack` alarm of a refused pack booked in `slot`, in the enclosing
        transaction; its delivery, while open, counts it as held there (not sent back)."""
        detail: dict[str, object] = {
            "gtin": pack.gtin,
            "batch": pack.batch,
            "expiry": pack.expiry,
            "serial": serial,
            "reason": pack.reason,
            "why": f"{_what(session, pack)}, yet laid in {slot}: held there, take it out",
            "scanner": session.scanner,
            "delivery_id": session.delivery_id,
            "slot": slot,
            "on_shelf": True,
        }
        alarm = self._keeper.alarms.raise_alarm(
            AlarmKind.REFUSED_PACK, pack_key(pack.gtin, serial), detail
        )
        self._board.booked(pack.gtin, serial)
        if session.state is SessionState.OPEN:  # its refused pack is held, not sent back
            session.held(pack.gtin, serial, slot)
            self._board.save(session)
        return alarm


def _what(session: PutawaySession, pack: RefusedPack) -> str:
    """Why a refused pack must not be on a shelf, in words."""
    return f"refused ({pack.reason}) in delivery {session.delivery_id}"


def _refused(session: PutawaySession, tag: PackId) -> RefusedPack | None:
    """The pack `session` refused, if `tag` is it."""
    return next((r for r in session.refusals if (r.gtin, r.serial) == (tag.gtin, tag.serial)), None)


def _laid(
    kind: MovementKind,
    pack: WaitingPack | RefusedPack,
    tag: PackId,
    slot: str,
    reason: str,
    reference: str,
    actor: str = "system",
    to_status: StockStatus = StockStatus.AVAILABLE,
) -> Movement:
    """One pack laid in `slot`: as the desk scanned it (GTIN, batch, expiry), its serial and
    EPC as its tag showed them."""
    return Movement(
        kind,
        pack.gtin,
        1,
        tag.serial,
        tag.epc,
        pack.batch,
        pack.expiry,
        to_slot=slot,
        actor=actor,
        reason=reason,
        reference=reference,
        to_status=to_status,
    )
