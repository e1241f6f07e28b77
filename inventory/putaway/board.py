"""What the put-away desk and its shelf part share: the open sessions, kept in the ledger file
in the transaction that changes them, and the red shown for a refused pack or a wrong slot (in
memory only)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import timedelta

from inventory.alarms.lifecycle import AlarmKind
from inventory.codes.barcodes import PackScan
from inventory.ledger.commit import Commit, iso
from inventory.picking.idle import IdleClock
from inventory.picking.outcome import Cue, CueKind, Holder, Outcome
from inventory.picking.run_start import RunStart
from inventory.putaway.checks import REFUSED_PACK_REASONS, Reason, Refusal
from inventory.putaway.known_packs import LAID_DAYS, ClosedPacks, RecentPuts
from inventory.putaway.ledger_access import PutawayLedger
from inventory.putaway.sessions import PutawaySession, SessionState, WaitingPack
from inventory.putaway.store import PutawayStore


class PutawayBoard:
    """The open sessions by delivery id, and the slots shown red until when."""

    def __init__(self, keeper: PutawayLedger):
        self._keeper = keeper
        self.store = PutawayStore(keeper.db)
        self.sessions: dict[str, PutawaySession] = {}
        self.red: dict[str, float] = {}  # slot -> until: a refused pack, a wrong slot
        # Slot -> the tags of waiting packs seen there though nothing was lit there for them,
        # and until when the latest of them made it red.
        self.strays: dict[str, tuple[frozenset[str], float]] = {}
        self.reminded: set[str] = set()  # sessions left untouched: their slots blink slowly
        # Slots where a session that closed left a pack waiting -> (its delivery, until when a
        # press there is told so).
        self.unbooked: dict[str, tuple[str, float]] = {}
        self.recent = RecentPuts()  # serialized packs put lately, open sessions' or not
        self.closed = ClosedPacks()  # serialized packs closed sessions left waiting or refused
        self._run_start = RunStart(keeper.seconds)
        # A session waiting its turn behind another's colour at every slot it lit is not idle.
        self.idle = IdleClock()

    def load(self) -> None:
        """Open sessions from the file, the packs put lately and those closed sessions left
        waiting or refused (at start, and after a failed commit). At start each session counts
        as touched then (`RunStart`), as a pick list does: the time the daemon was not running
        is no clerk's idle time."""
        keeper = self._keeper
        self.sessions = {s.delivery_id: s for s in self.store.open_sessions()}
        for session in self._run_start.carry_over(self.sessions):
            # Nor is it time for a reader to see the tag of a pack pressed for just before
            # the stop: it is read once the shelves are read in again.
            session.untagged = [replace(p, at=session.touched_at) for p in session.untagged]
        window, now = keeper.picks.times.timeout_seconds, keeper.calendar.now()
        lately = self.store.closed_since(iso(now - timedelta(seconds=window)))
        self.recent.load([*self.sessions.values(), *lately], keeper.seconds() - window)
        self.closed.load(self.store.left_since(iso(now - timedelta(days=LAID_DAYS))))

    def by_age(self) -> list[PutawaySession]:
        return sorted(self.sessions.values(), key=lambda s: s.created_at)

    def waiting_with(self, gtin: str, serial: str) -> tuple[PutawaySession, WaitingPack] | None:
        """The waiting pack of `gtin` with `serial` (a counted one, with serial ''), the
        oldest session's first."""
        for session in self.by_age():
            for pack in session.waiting:
                if (pack.gtin, pack.serial) == (gtin, serial):
                    return session, pack
        return None

    def counted_waiting(self, gtin: str, slot: str) -> tuple[PutawaySession, WaitingPack] | None:
        """A waiting counted pack of `gtin` (lit in `slot` first): the one a tag may be."""
        counted = [
            (s, p) for s in self.by_age() for p in s.waiting if (p.gtin, p.serial) == (gtin, "")
        ]
        counted.sort(key=lambda found: found[1].slot != slot)
        return next(iter(counted), None)

    @property
    def untagged_since(self) -> float:
        """Counted packs put by button at this time (seconds) or before count as untagged for
        good: a pack's tag is read within the dwell time (`presence.dwell_seconds`) of its
        laying, and a press comes within a mistake's time (`picking.mistake_seconds`) of it."""
        times = self._keeper.picks.times
        return self._keeper.seconds() - times.dwell_seconds - times.mistake_seconds

    def forget_untagged(self) -> None:
        """Counted packs put by button that count as untagged for good are forgotten (their
        sessions saved, in a transaction of their own when there are any)."""
        since = self.untagged_since
        stale = [s for s in self.by_age() if any(p.at <= since for p in s.untagged)]
        if not stale:
            return
        with self._keeper.group():
            for session in stale:
                session.untagged = [p for p in session.untagged if p.at > since]
                self.save(session)

    def lit(self, reminded: Collection[str] = ()) -> list[Cue]:
        """The slots lit for the sessions' waiting packs, in each session's colour, each in
        the order the session first lit it (kept while its packs wait there: a slot shows the
        session that lit it first until its packs there are put);
        those of the sessions `reminded` (by delivery id: left untouched) blink slowly, as a
        pick list's do."""
        cues = []
        for session in self.by_age():
            if session.number is None:
                continue
            here: dict[str, list[WaitingPack]] = {}
            for pack in session.waiting:
                here.setdefault(pack.slot, []).append(pack)
            kind = CueKind.REMIND if session.delivery_id in reminded else CueKind.PUT
            number = session.number
            cues += [
                Cue(
                    slot,
                    kind,
                    number,
                    len(packs),
                    Holder.PUTAWAY,
                    order=min(p.lit_order for p in packs),
                    since=min(p.lit_at for p in packs),
                )
                for slot, packs in here.items()
            ]
        return cues

    def lit_order(self, session: PutawaySession, slot: str) -> int:
        """The place in line at `slot` of a pack `session` lights there now: that of its packs
        waiting there, else after every pack waiting. Kept in the file, so neither a restart
        nor the clock (a box started before NTP set it) moves a session ahead of another."""
        here = [p.lit_order for p in session.waiting_at(slot)]
        lit = (p.lit_order for s in self.sessions.values() for p in s.waiting)
        return min(here) if here else 1 + max(lit, default=0)

    def colours(self) -> set[int]:
        """The colour numbers (shared with pick lists) the sessions hold."""
        return {s.number for s in self.sessions.values() if s.number is not None}

    def show_red(self, slot: str) -> None:
        """Red at `slot` for the configured time of a mistake."""
        keeper = self._keeper
        self.red[slot] = keeper.seconds() + keeper.picks.times.mistake_seconds

    def end_red(self, slot: str) -> None:
        """No red at `slot` any more: what was put there is what was lit there. The tags laid
        astray there count no more (`astray`)."""
        self.red.pop(slot, None)
        self.strays.pop(slot, None)

    def astray(self, epc: str, slot: str) -> None:
        """The red just shown at `slot` (`show_red`), where the tag `epc` of a waiting pack was
        seen though nothing was lit there for it, is that tag's until its pack is booked, and
        the other such tags' there whose red still runs."""
        tags, until = self.strays.get(slot, (frozenset(), 0.0))
        tags = tags if until > self._keeper.seconds() else frozenset()
        self.strays[slot] = (tags | {epc}, self.red[slot])

    def tag_booked(self, epc: str) -> bool:
        """The pack whose tag `epc` made slots red (`astray`) is booked, where it lies or
        elsewhere: each red it made ends once no other such tag is left there, unless a
        mistake of another kind made there since holds it. Whether a red ended."""
        ended = False
        for slot, (tags, until) in list(self.strays.items()):
            if epc not in tags:
                continue
            if tags - {epc}:
                self.strays[slot] = (tags - {epc}, until)
                continue
            del self.strays[slot]
            if self.red.get(slot) == until:
                del self.red[slot]
                ended = True
        return ended

    def report(self, session: PutawaySession, event: str, out: Outcome, **fields: object) -> None:
        """Tell the centre `event` of `session` and save the session, in one transaction."""
        keeper = self._keeper
        with keeper.group():
            out.commits.append(keeper.send_result("putaway", session.delivery_id, event, **fields))
            self.save(session)

    def save(self, session: PutawaySession) -> None:
        """Write `session` (in the enclosing transaction); an open one is on the board."""
        self.store.save(session, self._keeper.stamp())
        if session.state is SessionState.OPEN:
            self.sessions[session.delivery_id] = session

    def booked(self, gtin: str, serial: str) -> None:
        """This serialized pack is booked: no session has it let go of any more (in the
        enclosing transaction)."""
        for session in self.by_age():
            gone = [p for p in session.let_go if (p.gtin, p.serial) == (gtin, serial)]
            if gone:
                session.let_go = [p for p in session.let_go if p not in gone]
                self.save(session)

    def alarm(self, scan: PackScan, found: Refusal, detail: dict[str, object]) -> list[Commit]:
        """The alarm a refused pack raises, if its reason calls for one: `refused_pack` for a
        pack that must not reach a shelf (one per delivery and batch: each delivery's refused
        packs go back with its own paperwork; at a receiving scanner, one per batch),
        `duplicate_pack` for a serial on a shelf already (its `detail` then names the slot
        that holds it)."""
        alarms = self._keeper.alarms
        if found.reason in REFUSED_PACK_REASONS:
            delivery = detail.get("delivery_id")
            subject = f"{scan.gtin}/{scan.batch}"
            subject = f"{delivery}/{subject}" if delivery else subject
            return [alarms.raise_alarm(AlarmKind.REFUSED_PACK, subject, detail)]
        if found.reason is Reason.DUPLICATE_SERIAL:
            where = {**detail, "slot": found.slot}
            subject = f"{scan.gtin}/{scan.serial}"
            return [alarms.raise_alarm(AlarmKind.DUPLICATE_PACK, subject, where)]
        return []
