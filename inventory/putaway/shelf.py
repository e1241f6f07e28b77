"""At the shelf while putting away: packs scanned in, puts confirmed, wrong slots caught.

The put-away desk's (inventory.putaway.desk) part at the shelves. A scanned pack that passes
the checks is lit in its slot; a press of that slot's button (one pack each) or its tag seen on
that slot's antenna books it: one `receive` movement into the slot with its batch, expiry and
serial, written with the session's new state and its `cmd-result` report in one transaction. A
press on a slot no one lit, or a tag seen in another slot than its own, books nothing and blinks
red."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial

from inventory.codes.barcodes import PackScan
from inventory.codes.identifiers import PackId
from inventory.ledger.free_ids import first_free
from inventory.ledger.movements import Movement, MovementKind
from inventory.picking.colours import passed_on_note
from inventory.picking.outcome import Outcome, owner_cue
from inventory.picking.results import message
from inventory.putaway.board import PutawayBoard
from inventory.putaway.checks import Reason, Refusal, held_back, on_the_shelves, refusal
from inventory.putaway.laid import ShelfFinds
from inventory.putaway.ledger_access import PutawayLedger
from inventory.putaway.places import choose_slot, place
from inventory.putaway.routing import session_for
from inventory.putaway.sessions import (
    PressedPack,
    PutawaySession,
    RefusedPack,
    WaitingPack,
    pack_key,
)

# Called when a paused session's last pack is put (its tag seen on a shelf): the desk closes
# it (in the same transaction).
SessionDone = Callable[[PutawaySession, Outcome], None]


class ShelfPuts:
    """Scans, presses and tags on the sessions of `board`; `done` closes a paused session
    whose last pack is put (one at work closes at the desk's tick, once its clerk had time to
    scan an extra pack). `shelf_slots`: the slots put-away may choose from (all, when empty)."""

    def __init__(
        self,
        keeper: PutawayLedger,
        board: PutawayBoard,
        shelf_slots: tuple[str, ...],
        done: SessionDone,
        watched: frozenset[str] | None = None,
    ):
        self._keeper = keeper
        self._watched = watched  # slots a fixed reader watches (None: any may be)
        self._board = board
        self.shelf_slots = shelf_slots
        self._done = done
        self.finds = ShelfFinds(keeper, board, self._book)

    def scanned(self, scan: PackScan, scanner: str, station: str, actor: str) -> Outcome:
        """A pack scanned at a put-away scanner: refused, or lit in the slot it belongs in."""
        again = self.finds.rescanned(scan, scanner)
        if again is not None:  # the pack put a moment ago, scanned again: not a second one
            return again
        keeper, out = self._keeper, Outcome()
        found = session_for(self._board.by_age(), scanner, scan.gtin, scan.batch, scan.serial)
        session = found or self._new_session(scanner)
        session.scanner, session.station, session.actor = scanner, station, actor
        session.touched_at = keeper.seconds()
        slot = self._place(session, scan, station)
        if isinstance(slot, Refusal):
            if session.paused:  # a pack refused does not bring the clerk back
                session.number = None
            self._refuse(session, scan, slot, out)
            return out
        if session.paused:  # the clerk is back from a break: the same delivery carries on
            session.paused = False
            out.putaway_notes.append(f"put-away {session.delivery_id} resumed at {scanner}")
        session.scanned_again(scan.gtin, scan.batch, scan.serial)
        expiry = scan.expiry.isoformat() if scan.expiry else None
        # Its packs waiting there already keep the time it first lit the slot (whose it is).
        since = min((p.lit_at for p in session.waiting_at(slot)), default=keeper.seconds())
        lit = WaitingPack(scan.gtin, scan.batch, expiry, scan.serial, slot, lit_at=since)
        lit.lit_order = self._board.lit_order(session, slot)
        session.waiting.append(lit)
        there = sum(1 for p in session.waiting if (p.slot, p.gtin) == (slot, scan.gtin))
        self._board.report(
            session,
            "lit",
            out,
            **_pack(scan.gtin, scan.batch, expiry, scan.serial),
            slot=slot,
            waiting=there,
            number=session.number,
        )
        out.putaway_notes.append(f"put-away {session.delivery_id}: GTIN {scan.gtin} goes to {slot}")
        announced = session.announced_otherwise(scan.gtin, scan.batch, expiry)
        if announced is not None:
            out.putaway_notes.append(
                f"put-away {session.delivery_id}: GTIN {scan.gtin} batch {scan.batch} expires "
                f"on {expiry}; its notice announced {announced}"
            )
        out.lights_changed = True
        return out

    def button(
        self, slot: str, presses: int, shown: int | None, least_seen: tuple[str, ...] = ()
    ) -> Outcome:
        """The button of `slot` pressed `presses` times, for the owner the slot showed
        (`shown`: its colour number): a session's waiting packs there put, one each, never
        another's (presses beyond book nothing; none at all while its colour was passed on to
        it a moment ago: `ColourPool.passed_on`); a pick list's colour goes to the pick desk.
        Shown none: on a slot red for a pick list's mistake, the pick desk (whoever pressed
        there made it red); red for a put-away, the oldest session waiting there; otherwise
        the slot's owner, the one it shows (pick lists first). A slot nobody wants: a pack a
        fixed reader just booked picked there (the press confirms it) goes to the pick desk;
        a press there blinks red while put-away is under way."""
        keeper, board = self._keeper, self._board
        picks = keeper.picks
        colour = shown  # the colour the slot showed; `shown` becomes the owner it shows
        if shown is None:
            if any(s.mistake.slot == slot for s in picks.shown):
                return keeper.shelf.button(slot, presses, None, least_seen)
            wanting = [s for s in board.by_age() if s.waiting_at(slot)]
            if slot in board.red and wanting:
                return self._put(wanting[0], slot, presses)
            owner = owner_cue(c for c in picks.cues() + board.lit() if c.slot == slot)
            shown = None if owner is None else owner.picker_no
        session = next((s for s in board.by_age() if s.number == shown), None)
        if session is not None and colour is not None and picks.colours.passed_on(colour):
            return Outcome(notes=[passed_on_note(slot, colour, f"put-away {session.delivery_id}")])
        if session is not None:
            return self._put(session, slot, presses)
        if shown is not None:  # a pick list's (shown, or showing), or one ended since
            return keeper.shelf.button(slot, presses, colour, least_seen)
        awaited = keeper.shelf.awaits_press(slot)
        lying = None if awaited else self.finds.pressed(slot)
        if lying is not None:  # a pack let go of lies there unbooked
            return lying
        if not awaited and any(s.number is not None for s in board.sessions.values()):
            out = Outcome()
            self._wrong_slot(slot, f"button at {slot}", out)
            return out
        return keeper.shelf.button(slot, presses, None, least_seen)

    def tag_arrived(self, pack: PackId, slot: str) -> Outcome | None:
        """A fixed reader sees a tag in `slot`: a waiting pack put (or put in the wrong
        slot); None when no session waits for it. A tag a waiting pack's serial does not name
        is a counted waiting pack's only when no other pack accounts for it (ShelfFinds)."""
        board = self._board
        found = board.waiting_with(pack.gtin, pack.serial) if pack.serial else None
        if found is None:
            lit = board.counted_waiting(pack.gtin, slot)
            if lit is not None and not self.finds.accounts_for(pack, slot, lit[1].slot):
                found = lit
        if found is None:
            return None
        session, waiting = found
        out = Outcome()
        if waiting.slot != slot:
            waiting.serial = waiting.serial or pack.serial
            waiting.seen_epc = pack.epc  # seen astray: watched anew once it is let go of
            with self._keeper.group():
                self._wrong_slot(slot, f"tag of GTIN {pack.gtin} serial {pack.serial}", out)
                board.save(session)
            board.astray(pack.epc, slot)
        else:
            self._book(session, waiting, slot, "tag", out, tag=pack)
        return out

    # Internals -------------------------------------------------------------------------------

    def _new_session(self, scanner: str) -> PutawaySession:
        """A session of its own for `scanner`, named by the site's local time, as people read
        it (and as stocktake ids are)."""
        keeper, board = self._keeper, self._board
        calendar = keeper.calendar
        stamp = calendar.now().astimezone(calendar.zone).strftime("%Y%m%dT%H%M%S")
        delivery_id = first_free(
            f"{scanner}-{stamp}",
            lambda name: name in board.sessions or board.store.state_of(name) is not None,
        )
        now = keeper.seconds()
        return PutawaySession(delivery_id, now, now, scanner=scanner)

    def _put(self, session: PutawaySession, slot: str, presses: int) -> Outcome:
        """`presses` of `slot`'s button for `session`: one of its packs waiting there put each;
        presses beyond book nothing, never another session's pack."""
        out = Outcome()
        for _ in range(presses):
            waiting = session.waiting_at(slot)
            if not waiting:
                out.notes.append(
                    f"button at {slot}: nothing more of put-away {session.delivery_id} to put there"
                )
                break
            self._book(session, waiting[0], slot, "button", out)
        return out

    def _place(self, session: PutawaySession, scan: PackScan, station: str) -> str | Refusal:
        """The slot a scanned pack goes to, or why it must not go anywhere."""
        keeper, sessions = self._keeper, self._board.sessions
        found = refusal(
            scan, keeper.products, keeper.index, keeper.calendar.today(), keeper.picks.recalled
        )
        if found is not None:
            return found
        if scan.serial and self._board.waiting_with(scan.gtin, scan.serial) is not None:
            return Refusal(Reason.ALREADY_SCANNED, f"serial {scan.serial} is waiting to be put")
        if session.number is None:
            session.number = keeper.picks.colours.hand_out()
            if session.number is None:
                return Refusal(Reason.NO_COLOUR, "every colour is in use; finish a list first")
        by_slot: dict[str, list[WaitingPack]] = {}
        busy: dict[str, PutawaySession] = {}  # slots lit for another desk's packs
        for other in self._board.by_age():
            for pack in other.waiting:
                by_slot.setdefault(pack.slot, []).append(pack)
                if other is not session and other.scanner != session.scanner:
                    busy.setdefault(pack.slot, other)
        reserved = {home for p in keeper.products.values() for home in p.home_slots}
        reserved |= {s.station for s in sessions.values()} | {station}
        product = keeper.products[scan.gtin]
        choose = partial(
            choose_slot, product, scan.batch, keeper.index, by_slot, self.shelf_slots, reserved
        )
        return place(product, choose, busy)

    def _book(
        self,
        session: PutawaySession,
        pack: WaitingPack,
        slot: str,
        how: str,
        out: Outcome,
        tag: PackId | None = None,
    ) -> None:
        """One pack put (`tag`: the tag that showed it): its movement, the session's new
        state, the report. The session changes only once the ledger took the movement."""
        keeper = self._keeper
        expiry = date.fromisoformat(pack.expiry) if pack.expiry else None
        serial = pack.serial or (tag.serial if tag else "")
        scanned = PackScan(pack.gtin, expiry, pack.batch, serial)
        # Judged again: recalled or expired while it waited, or its serial booked meanwhile
        # (by its code, at a receiving desk): never booked (a second time).
        found = held_back(scanned, keeper.calendar.today(), keeper.picks.recalled)
        found = found or on_the_shelves(scanned, keeper.index)
        if found is not None:  # take it out again: red where it was laid, nothing booked
            session.drop(pack)
            session.rest()
            self._refuse(session, scanned, found, out, slot)
            if tag is not None and found.reason is not Reason.DUPLICATE_SERIAL:
                # It lies there: held, with its batch and expiry.
                reason = str(found.reason)
                refused = RefusedPack(pack.gtin, pack.batch, pack.expiry, tag.serial, reason)
                held = self.finds.hold(session, refused, tag, slot)
                out.commits += held.commits
                out.placed.update(held.placed)
            return
        epc = tag.epc if tag else None
        movement = Movement(
            MovementKind.RECEIVE,
            pack.gtin,
            1,
            serial,
            epc,
            pack.batch,
            pack.expiry,
            to_slot=slot,
            actor=session.actor or "system",
            reason=f"put away from delivery {session.delivery_id}, confirmed by {how}",
            reference=session.reference,
        )
        left = sum(
            1 for p in session.waiting if p is not pack and (p.slot, p.gtin) == (slot, pack.gtin)
        )
        report = message(
            keeper.stamp(),
            "putaway",
            session.delivery_id,
            "put",
            **_pack(pack.gtin, pack.batch, pack.expiry, serial),
            slot=slot,
            waiting=left,
            put=session.put + 1,
            confirmed_by=how,
        )
        board = self._board
        with keeper.group():
            out.commits.append(keeper.commit([movement], messages=[report]))  # StockError: as was
            session.drop(pack)
            if serial:
                session.put_serials[pack_key(pack.gtin, serial)] = keeper.seconds()
                board.recent.record(pack.gtin, serial, session, keeper.seconds())
                board.booked(pack.gtin, serial)
            elif how == "button" and (self._watched is None or slot in self._watched):
                # its tag, seen there soon, is its own (see ShelfFinds); no tag is ever seen
                # in a slot no reader watches
                session.untagged.append(PressedPack(pack.gtin, pack.batch, slot, keeper.seconds()))
            session.put += 1
            session.count_put(pack.gtin, pack.batch, pack.expiry)
            session.put_after_all(pack.gtin, pack.batch, serial)
            session.touched_at = keeper.seconds()
            session.rest()
            board.save(session)
            if session.complete and session.paused:  # nobody at its desk to bring more
                self._done(session, out)
        board.end_red(slot)
        if epc:
            out.placed[epc] = slot
            # The pack that made another slot red is where it belongs now: that red ends too.
            board.tag_booked(epc)
        out.putaway_notes.append(
            f"put-away {session.delivery_id}: GTIN {pack.gtin} put in {slot} ({how})"
        )
        if session.finishing:
            grace = keeper.picks.times.remind_after_seconds
            out.putaway_notes.append(
                f"put-away {session.delivery_id}: every announced pack put, its colour free; "
                f"it closes done when nothing more of it is scanned for {grace:g} s"
            )
        out.lights_changed = True

    def _refuse(
        self,
        session: PutawaySession,
        scan: PackScan,
        found: Refusal,
        out: Outcome,
        slot: str = "",
    ) -> None:
        """A pack that must not be put away: reported, alarmed where it matters, red at the
        receiving station (or at `slot`, where it was laid); nothing booked."""
        keeper = self._keeper
        where = slot or session.station
        expiry = scan.expiry.isoformat() if scan.expiry else None
        if found.reason is not Reason.ALREADY_SCANNED:  # that pack waits to be put: not refused
            refused = RefusedPack(scan.gtin, scan.batch, expiry, scan.serial, str(found.reason))
            session.refuse(refused)
        pack = _pack(scan.gtin, scan.batch, expiry, scan.serial)
        detail = {
            **pack,
            "reason": str(found.reason),
            "why": found.why,
            "scanner": session.scanner,
            "delivery_id": session.delivery_id,
            "slot": where or None,
        }
        with keeper.group():
            self._board.report(
                session,
                "refused",
                out,
                **pack,
                reason=str(found.reason),
                why=found.why,
                slot=where or None,
            )
            out.commits += self._board.alarm(scan, found, detail)
        if where:
            self._board.show_red(where)
        out.putaway_mistakes.append(f"MISTAKE at {where or 'the scanner'}: refused, {found.why}")
        out.lights_changed = True

    def _wrong_slot(self, slot: str, what: str, out: Outcome) -> None:
        """Something arrived where nothing was lit for it: red there, the sessions told."""
        keeper, board = self._keeper, self._board
        board.show_red(slot)
        lit = sorted({p.slot for s in board.sessions.values() for p in s.waiting})
        reports = [
            message(
                keeper.stamp(),
                "putaway",
                session.delivery_id,
                "wrong_slot",
                slot=slot,
                expected=[p.slot for p in session.waiting],
            )
            for session in board.by_age()
            if session.number is not None
        ]
        if reports:
            out.commits.append(keeper.send(reports))
        out.putaway_mistakes.append(
            f"MISTAKE at {slot}: {what}, but nothing was lit there (lit: {lit})"
        )
        out.lights_changed = True


def _pack(gtin: str, batch: str, expiry: str | None, serial: str) -> dict[str, object]:
    return {"gtin": gtin, "batch": batch, "expiry": expiry, "serial": serial or None}
