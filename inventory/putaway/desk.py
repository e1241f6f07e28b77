"""The put-away desk: deliveries announced, packs scanned in and guided to their slots.

Lives beside the keeper on the ledger's writer thread, like the pick desk. A pack scanned at a
put-away scanner is checked (inventory.putaway.checks), given a slot (inventory.putaway.places)
and lit there in its session's colour; it is booked (one `receive` movement into that slot,
referencing the request the delivery fulfils) only when the slot's button is pressed or its tag
is seen on that slot's antenna (inventory.putaway.shelf). Sessions, with the packs waiting in
them, are kept in the ledger file in the transaction that changes them; the red shown for a
refused pack or a wrong slot lives in memory only (inventory.putaway.board).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Sequence

from inventory.alarms.lifecycle import AlarmKind
from inventory.codes.barcodes import PackScan
from inventory.codes.identifiers import PackId
from inventory.ledger.commit import Commit
from inventory.picking.outcome import NOBODY, Cue, CueKind, Outcome
from inventory.putaway.board import PutawayBoard
from inventory.putaway.checks import REFUSED_PACK_REASONS
from inventory.putaway.ledger_access import PutawayLedger
from inventory.putaway.receiving import receive
from inventory.putaway.sessions import Notice, PutawaySession, RefusedPack, SessionState
from inventory.putaway.shelf import ShelfPuts
from inventory.stock.slot_index import StockLine


class PutawayDesk:
    """Put-away sessions from notice to close; what happens at the shelf while they are open
    is its `shelf` part's."""

    def __init__(
        self,
        keeper: PutawayLedger,
        shelf_slots: Sequence[str] = (),
        watched_slots: Collection[str] | None = None,
    ):
        """`watched_slots`: the slots a fixed reader watches (None: every slot may be)."""
        self._keeper = keeper
        self.board = PutawayBoard(keeper)
        watched = None if watched_slots is None else frozenset(watched_slots)
        self.shelf = ShelfPuts(keeper, self.board, tuple(shelf_slots), self._done, watched)

    @property
    def sessions(self) -> dict[str, PutawaySession]:
        """The open sessions by delivery id."""
        return self.board.sessions

    def load(self) -> None:
        """Open sessions from the file (at start, and after a failed commit)."""
        self.board.load()

    @property
    def busy(self) -> bool:
        """Something here runs against the clock: sessions at work, red shown."""
        return bool(self.board.red) or any(s.at_work for s in self.sessions.values())

    def still_announced(self, ordered: Callable[[str], str | None]) -> dict[str, int]:
        """What the open delivery notices announce and has not been put away (nor refused, to
        go back with the paperwork) yet, by GTIN: stock on its way. The lines of a notice
        delivering a request still open (`ordered`, given its request_id: the request's GTIN,
        None when it is not open) are left out for that GTIN only: the request counts them as
        on order already, and covers no other product the notice brings."""
        coming: dict[str, int] = {}
        for session in self.sessions.values():
            if not session.announced:
                continue
            covered = ordered(session.request_id) if session.request_id else None
            still = Counter[str]()
            for line in session.lines:
                still[line.gtin] += line.missing
            for refused in session.refusals:  # they go back with the paperwork
                if refused.reason in REFUSED_PACK_REASONS:
                    still[refused.gtin] -= 1
            for gtin, packs in still.items():
                if packs > 0 and gtin != covered:
                    coming[gtin] = coming.get(gtin, 0) + packs
        return coming

    def on_the_way(self) -> tuple[set[str], set[str]]:
        """What open delivery notices say is coming: the request ids they name, and the GTINs
        of notices naming none (such a delivery fills the oldest open request of its GTIN)."""
        named: set[str] = set()
        unnamed: set[str] = set()
        for session in self.sessions.values():
            if not session.announced:
                continue
            if session.request_id:
                named.add(session.request_id)
            else:
                unnamed |= {line.gtin for line in session.lines}
        return named, unnamed

    def colours(self) -> set[int]:
        """The colour numbers (shared with pick lists) the sessions hold."""
        return self.board.colours()

    def notice(self, notice: Notice) -> Outcome:
        """An advance shipping notice: a session that expects its lines (lit from its first
        scan). A delivery id seen before is refused."""
        keeper, out = self._keeper, Outcome()
        known = self.board.store.state_of(notice.delivery_id)
        if known is not None:
            error = f"delivery {notice.delivery_id} was announced before ({known})"
            return keeper.picks.refuse("putaway", notice.delivery_id, error)
        session = PutawaySession.from_notice(notice, keeper.seconds())
        self.board.report(
            session,
            "expected",
            out,
            request_id=session.request_id or None,
            scanner=session.scanner or None,
            lines=[line.report() for line in session.lines],
        )
        out.putaway_notes.append(
            f"put-away {session.delivery_id}: {sum(ln.quantity for ln in notice.lines)} packs "
            f"announced in {len(notice.lines)} line(s)"
        )
        return out

    def scanned(self, scan: PackScan, scanner: str, station: str, actor: str) -> Outcome:
        """A pack scanned at a put-away scanner: refused, or lit in the slot it belongs in."""
        return self.shelf.scanned(scan, scanner, station, actor)

    def received(self, scan: PackScan, slot: str, actor: str, scanner: str) -> Outcome:
        """A pack scanned at a receiving scanner: booked into `slot` at once, or refused
        (see inventory.putaway.receiving)."""
        return receive(self._keeper, self.board, scan, slot, actor, scanner)

    def unread(self, scanner: str, slot: str, why: str) -> Outcome:
        """A code `scanner` could not take (not a pack's GS1 DataMatrix, a serial missing):
        nothing to book or refuse, but the clerk must see that it was not taken, so its desk's
        `slot` blinks red as for a refused pack."""
        self.board.show_red(slot)
        mistake = f"MISTAKE at {slot}: {scanner} could not take the code: {why}"
        return Outcome(putaway_mistakes=[mistake], lights_changed=True)

    def button(
        self, slot: str, presses: int, shown: int | None, least_seen: tuple[str, ...] = ()
    ) -> Outcome:
        """The button of `slot` pressed (see ShelfPuts.button). Pressed for NOBODY (just
        after a red no pick list's mistake made ended there), it books nothing: the person
        pressing made it red, and wants no other owner's pack."""
        if shown == NOBODY:
            note = f"button at {slot}: pressed as its red ended; nothing booked"
            return Outcome(notes=[note])
        return self.shelf.button(slot, presses, shown, least_seen)

    def tag_arrived(self, pack: PackId, slot: str) -> Outcome | None:
        """A fixed reader sees a tag in `slot` (see ShelfPuts.tag_arrived)."""
        return self.shelf.tag_arrived(pack, slot)

    def laid_anyway(self, tag: PackId, slot: str) -> Outcome | None:
        """A tag the ledger does not hold seen in `slot`: a pack a delivery let go of or
        refused (see inventory.putaway.laid); None when it is none of those."""
        return self.shelf.finds.tag_seen(tag, slot)

    def refused(self, tag: PackId) -> RefusedPack | None:
        """What a delivery refusing this pack as one that must not reach a shelf scanned of
        it, and why; None when none did lately (see inventory.putaway.laid)."""
        return self.shelf.finds.refused(tag)

    def refused_held(self, line: StockLine) -> Commit:
        """The refused pack of `line`, booked there quarantined by a count: its alarm, and
        its delivery told where it lies (see inventory.putaway.laid)."""
        return self.shelf.finds.refused_held(line)

    def end(self, delivery_id: str, by: str) -> Outcome:
        """A person ends a session: what was not put is reported missing."""
        session = self.sessions.get(delivery_id)
        if session is None:
            state = self.board.store.state_of(delivery_id)
            error = f"delivery {delivery_id} is {state}" if state else f"no delivery {delivery_id}"
            return self._keeper.picks.refuse("putaway-end", delivery_id, error)
        out = Outcome()
        self._close(session, SessionState.ENDED, out, by)
        return out

    def tick(self, behind: Collection[int]) -> Outcome:
        """Sessions left untouched past the timeout end (or, with packs of their notice still
        to come, pause: a clerk's break must not split the delivery), and those untouched past
        `remind_after_seconds` blink slowly until then (a session whose every lit slot shows
        another's colour, its colour among `behind` (`idle.waiting_turn`), waits its turn: not
        untouched meanwhile); a notice put in full (its colour free) closes done once nothing
        more of it was scanned or put for `remind_after_seconds` (a pack more of it scanned
        meanwhile, that no other notice awaits, is its excess); red that has run its time goes."""
        keeper, board, out = self._keeper, self.board, Outcome()
        now = keeper.seconds()
        limit = keeper.picks.times.timeout_seconds
        board.idle.note({s.delivery_id: s.number for s in board.by_age()}, behind, now)
        for session in board.by_age():
            untouched = board.idle.idle(session.delivery_id, session.touched_at, now)
            if session.complete:  # its clerk had the time to scan a pack more of it (excess)
                if untouched >= self._remind_after:
                    self._close(session, SessionState.DONE, out)
                continue
            if not session.at_work or untouched < limit:
                continue
            if session.still_to_come:
                self._pause(session, out)
            else:
                self._close(session, SessionState.TIMED_OUT, out)
        idle = self._idle(now)
        for delivery_id in sorted(idle - board.reminded):
            out.putaway_notes.append(
                f"put-away {delivery_id}: untouched for {self._remind_after:g} s, its slots "
                f"blink slowly; it times out after {limit:g} s"
            )
        if idle != board.reminded:
            board.reminded = idle
            out.lights_changed = True
        for slot in [slot for slot, until in board.red.items() if until <= now]:
            del board.red[slot]
            out.lights_changed = True
        board.strays = {slot: t for slot, t in board.strays.items() if slot in board.red}
        board.unbooked = {s: left for s, left in board.unbooked.items() if left[1] > now}
        board.recent.forget_before(now - limit)
        board.forget_untagged()
        return out

    def cues(self) -> list[Cue]:
        """What every slot should show for put-away: packs to put (blinking slowly while their
        session is left untouched), and red."""
        red = [Cue(slot, CueKind.MISTAKE) for slot in self.board.red]
        return red + self.board.lit(self._idle(self._keeper.seconds()))

    # Internals -------------------------------------------------------------------------------

    @property
    def _remind_after(self) -> float:
        return self._keeper.picks.times.remind_after_seconds

    def _idle(self, now: float) -> set[str]:
        """The sessions (by delivery id) with packs lit and nothing scanned or put for
        `remind_after_seconds` (time spent waiting their turn not counted)."""
        idle = self.board.idle.idle
        return {
            s.delivery_id
            for s in self.sessions.values()
            if s.waiting
            and s.number is not None
            and idle(s.delivery_id, s.touched_at, now) >= self._remind_after
        }

    def _pause(self, session: PutawaySession, out: Outcome) -> None:
        """A notice left untouched with packs still to come: its lit packs are reported (their
        slots may hold packs never confirmed), its slots go dark, its colour is freed, and it
        waits for the next scan of one of its packs at its scanner."""
        figures = session.summary()
        _seen_astray(session, out)
        session.pause()
        self.board.report(session, "paused", out, request_id=session.request_id or None, **figures)
        out.putaway_notes.append(
            f"put-away {session.delivery_id} paused: untouched for "
            f"{self._keeper.picks.times.timeout_seconds:g} s with {session.missing} pack(s) "
            f"still to come; {session.put} put, {figures['waiting']} lit and not put (their "
            f"slots go dark); the next scan of one of its packs at a put-away scanner resumes it"
        )
        out.lights_changed = True

    def _done(self, session: PutawaySession, out: Outcome) -> None:
        self._close(session, SessionState.DONE, out)

    def _close(
        self, session: PutawaySession, state: SessionState, out: Outcome, by: str = "system"
    ) -> None:
        keeper = self._keeper
        session.state = state
        with keeper.group():
            self.board.report(
                session,
                "closed",
                out,
                how=str(state),
                by=by,
                request_id=session.request_id or None,
                **session.summary(),
            )
            # The refused packs leave with the delivery's paperwork: their alarms end with it.
            # Not so the alarm of one laid on a shelf all the same: it stays until looked at.
            for alarm in keeper.alarms.live():
                if (
                    alarm.kind is AlarmKind.REFUSED_PACK
                    and alarm.detail.get("delivery_id") == session.delivery_id
                    and not alarm.detail.get("on_shelf")
                ):
                    out.commits.append(keeper.alarms.clear(alarm.kind, alarm.subject))
        self.sessions.pop(session.delivery_id, None)
        self.board.closed.closed(session, keeper.seconds())
        _seen_astray(session, out)
        # A press where one of its packs was lit is told that the pack is not booked.
        until = keeper.seconds() + keeper.picks.times.timeout_seconds
        for pack in (*session.waiting, *session.let_go):
            self.board.unbooked[pack.slot] = (session.delivery_id, until)
        out.putaway_notes.append(
            f"put-away {session.delivery_id} {str(state).replace('_', ' ')}: {session.put} put, "
            f"{session.refused} refused, {session.missing} missing,"
            f" {len(session.waiting) + len(session.let_go)} not put"
        )
        out.lights_changed = True


def _seen_astray(session: PutawaySession, out: Outcome) -> None:
    """The tags of `session`'s lit packs seen in a slot not lit for them, now let go of: the
    tracker watches them anew, so that one lying there is seen arrive and booked as laid on a
    shelf all the same (inventory.putaway.laid)."""
    out.booked_epcs += [p.seen_epc for p in (*session.waiting, *session.let_go) if p.seen_epc]
