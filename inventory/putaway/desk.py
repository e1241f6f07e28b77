"""The put-away desk: deliveries announced, packs scanned in and guided to their slots.

Lives beside the keeper on the ledger's writer thread, like the pick desk. A pack scanned at a
put-away scanner is checked (inventory.putaway.checks), given a slot (inventory.putaway.places)
and lit there in its session's colour; it is booked (one `receive` movement into that slot,
referencing the request the delivery fulfils) only when the slot's button is pressed or its tag
is seen on that slot's antenna (inventory.putaway.shelf). Sessions, with the packs waiting in
them, are kept in the ledger file in the transaction that changes them; the red shown for a
refused pack or a wrong slot lives in memory only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from inventory.alarms.lifecycle import AlarmKind
from inventory.picking.lists import MAX_PICKERS
from inventory.picking.outcome import Cue, CueKind, Outcome
from inventory.picking.results import message
from inventory.putaway.ledger_access import PutawayLedger
from inventory.putaway.sessions import Notice, PutawaySession, SessionState
from inventory.putaway.shelf import ShelfPuts
from inventory.putaway.store import PutawayStore


class PutawayDesk(ShelfPuts):
    """Put-away sessions and what happens at the shelf while they are open."""

    def __init__(self, keeper: PutawayLedger, shelf_slots: Sequence[str] = ()):
        self._keeper = keeper
        self.shelf_slots = tuple(shelf_slots)
        self.store = PutawayStore(keeper.db)
        self.sessions: dict[str, PutawaySession] = {}
        self._red: dict[str, float] = {}  # slot -> until: a refused pack, a wrong slot
        self._red_tags: dict[str, str] = {}

    def load(self) -> None:
        """Open sessions from the file (at start, and after a failed commit)."""
        self.sessions = {s.delivery_id: s for s in self.store.open_sessions()}

    @property
    def busy(self) -> bool:
        """Something here runs against the clock: sessions at work, red shown."""
        return bool(self._red) or any(s.at_work for s in self.sessions.values())

    def colours(self) -> set[int]:
        """The colour numbers (shared with pick lists) the sessions hold."""
        return {s.number for s in self.sessions.values() if s.number is not None}

    def notice(self, notice: Notice) -> Outcome:
        """An advance shipping notice: a session that expects its lines (lit from its first
        scan). A delivery id seen before is refused."""
        keeper, out = self._keeper, Outcome()
        known = self.store.state_of(notice.delivery_id)
        if known is not None:
            error = f"delivery {notice.delivery_id} was announced before ({known})"
            return keeper.picks.refuse("putaway", notice.delivery_id, error)
        session = PutawaySession.from_notice(notice, keeper.seconds())
        with keeper.group():
            expected = message(
                keeper.stamp(),
                "putaway",
                session.delivery_id,
                "expected",
                request_id=session.request_id or None,
                scanner=session.scanner or None,
                lines=[line.report() for line in session.lines],
            )
            out.commits.append(keeper.send([expected]))
            self._save(session)
        out.putaway_notes.append(
            f"put-away {session.delivery_id}: {sum(ln.quantity for ln in notice.lines)} packs "
            f"announced in {len(notice.lines)} line(s)"
        )
        return out

    def end(self, delivery_id: str, by: str) -> Outcome:
        """A person ends a session: what was not put is reported missing."""
        session = self.sessions.get(delivery_id)
        if session is None:
            state = self.store.state_of(delivery_id)
            error = f"delivery {delivery_id} is {state}" if state else f"no delivery {delivery_id}"
            return self._keeper.picks.refuse("putaway-end", delivery_id, error)
        out = Outcome()
        self._close(session, SessionState.ENDED, out, by)
        return out

    def tick(self) -> Outcome:
        """Sessions left untouched past the timeout end; red that has run its time goes."""
        keeper, out = self._keeper, Outcome()
        now = keeper.seconds()
        limit = keeper.picks.times.timeout_seconds
        for session in list(self._by_age()):
            if session.at_work and now - session.touched_at >= limit:
                self._close(session, SessionState.TIMED_OUT, out)
        for slot in [slot for slot, until in self._red.items() if until <= now]:
            del self._red[slot]
            out.lights_changed = True
        self._red_tags = {epc: s for epc, s in self._red_tags.items() if s in self._red}
        return out

    def cues(self) -> list[Cue]:
        """What every slot should show for put-away: packs to put, and red."""
        cues = [Cue(slot, CueKind.MISTAKE) for slot in self._red]
        for session in self._by_age():
            if session.number is None:
                continue
            counts: dict[str, int] = {}
            for pack in session.waiting:
                counts[pack.slot] = counts.get(pack.slot, 0) + 1
            cues += [Cue(s, CueKind.PUT, session.number, n) for s, n in counts.items()]
        return cues

    # Internals -------------------------------------------------------------------------------

    def _by_age(self) -> Iterable[PutawaySession]:
        return sorted(self.sessions.values(), key=lambda s: s.created_at)

    def _session_for(self, scanner: str, gtin: str) -> PutawaySession:
        """The session a scan at `scanner` belongs to: the one at work there, else the oldest
        notice not yet at a scanner that expects `gtin`, else a new one for the scanner."""
        for session in self._by_age():
            if session.scanner == scanner:
                return session
        for session in self._by_age():
            if not session.scanner and any(line.gtin == gtin for line in session.lines):
                session.scanner = scanner
                return session
        keeper = self._keeper
        stamp = datetime.fromisoformat(keeper.stamp()).strftime("%Y%m%dT%H%M%S")
        delivery_id, n = f"{scanner}-{stamp}", 1
        while delivery_id in self.sessions or self.store.state_of(delivery_id) is not None:
            n += 1
            delivery_id = f"{scanner}-{stamp}-{n}"
        now = keeper.seconds()
        return PutawaySession(delivery_id, now, now, scanner=scanner)

    def _free_colour(self) -> int | None:
        taken = self.colours() | {p.picker_no for p in self._keeper.picks.lists.values()}
        return next((n for n in range(MAX_PICKERS) if n not in taken), None)

    def _close(
        self, session: PutawaySession, state: SessionState, out: Outcome, by: str = "system"
    ) -> None:
        keeper = self._keeper
        session.state = state
        with keeper.group():
            closed = message(
                keeper.stamp(),
                "putaway",
                session.delivery_id,
                "closed",
                how=str(state),
                by=by,
                request_id=session.request_id or None,
                **session.summary(),
            )
            out.commits.append(keeper.send([closed]))
            self._save(session)
            # The refused packs leave with the delivery's paperwork: their alarms end with it.
            for alarm in keeper.alarms.live():
                if (
                    alarm.kind is AlarmKind.REFUSED_PACK
                    and alarm.detail.get("delivery_id") == session.delivery_id
                ):
                    out.commits.append(keeper.alarms.clear(alarm.kind, alarm.subject))
        self.sessions.pop(session.delivery_id, None)
        missing = sum(
            ln.quantity - ln.received for ln in session.lines if ln.received < ln.quantity
        )
        out.putaway_notes.append(
            f"put-away {session.delivery_id} {str(state).replace('_', ' ')}: {session.put} put, "
            f"{session.refused} refused, {missing} missing, {len(session.waiting)} not put"
        )
        out.lights_changed = True

    def _save(self, session: PutawaySession) -> None:
        self.store.save(session, self._keeper.stamp())
        if session.state is SessionState.OPEN:
            self.sessions[session.delivery_id] = session
