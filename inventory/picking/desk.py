"""The pick desk: pick lists, confirmations at the shelf, mistakes caught, shelves located.

Lives beside the keeper on the ledger's writer thread. Every confirmed pick is one `pick`
movement referencing its list, written in one transaction with the list's new state and the
`cmd-result` message that reports it. A pack that must not be picked is never booked: its slot
shows the mistake, the lists are told what was expected and what was seen, and a tagged pack
taken wrongly is held as on the shelf until it comes back (or, not back in time, is booked as an
unexpected removal and raises that alarm). Mistakes, located shelves and the lights they call
for live in memory only; lists and their progress are in the file.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from functools import partial

from inventory.alarms.book import AlarmBook
from inventory.errors import Refused
from inventory.ledger.movements import StockStatus
from inventory.picking.colours import ColourPool
from inventory.picking.idle import IdleClock, waiting_turn
from inventory.picking.ledger_access import PickLedger
from inventory.picking.lists import (
    MAX_PICKERS,
    ListLine,
    PickLine,
    PickList,
    PickRequest,
    PickState,
    allocate,
    allocate_lines,
    reservations,
)
from inventory.picking.marks import RecentPacks
from inventory.picking.outcome import NOBODY, Cue, CueKind, Outcome, Shown, mistake_list
from inventory.picking.results import PickTimes
from inventory.picking.run_start import RunStart
from inventory.picking.store import PickStore
from inventory.replenishment.orders import OrderBook
from inventory.stock.held_packs import unexpected_removal


class PickDesk:
    """Pick lists: started, cancelled, reminded and timed out; recalls, located drugs, and the
    mistakes shown at the shelf (`shelf_events` judges what is taken there)."""

    def __init__(
        self,
        keeper: PickLedger,
        alarms: AlarmBook,
        orders: OrderBook,
        times: PickTimes,
        held_colours: Callable[[], set[int]] = set,
    ):
        """`held_colours`: the colour numbers others hold (put-aways), not free for a list."""
        self._held_colours = held_colours
        self._keeper = keeper
        self._alarms = alarms
        self._orders = orders
        self.times = times
        self.store = PickStore(keeper.db)
        self.lists: dict[str, PickList] = {}
        self.recalled: set[tuple[str, str]] = set()
        self.shown: list[Shown] = []
        self._located: dict[str, tuple[float, int]] = {}  # slot -> (until, quantity)
        # packs just booked, or read by a handheld and shown wrong (repeated reads)
        self.recent = RecentPacks(keeper.rollback)
        self._run_start = RunStart(keeper.seconds)
        self._idle = IdleClock()  # a list waiting its turn at every slot it wants is not idle
        self.colours = ColourPool(  # shared with the put-away desk
            keeper.seconds, lambda: {p.picker_no for p in self.lists.values()} | held_colours()
        )

    def load(self) -> None:
        """Open lists and recalls from the file (at start, and after a failed commit). At
        start each list counts as touched then (`RunStart`): the time the daemon was not
        running (a restart, a power cut) is no picker's idle time."""
        self.lists = {p.pick_id: p for p in self.store.open_lists()}
        self.recalled = self.store.recalls()
        for pick in self._run_start.carry_over(self.lists):
            pick.reminded = False
        self.colours.note()

    @property
    def active(self) -> bool:
        """Pick lists are open."""
        return bool(self.lists)

    @property
    def busy(self) -> bool:
        """Something here runs against the clock: open lists, mistakes shown, drugs located."""
        return bool(self.lists or self.shown or self._located)

    def start(self, request: PickRequest) -> Outcome:
        """Allocate a new pick list (FEFO) and report it; short lines are reported at once and
        feed the shortage flow. A list id seen before is answered, not started again."""
        keeper, now = self._keeper, self._keeper.seconds()
        out = Outcome()
        known = self.store.state_of(request.pick_id)
        if known is not None:
            out.commits.append(
                keeper.send_result("pick", request.pick_id, "duplicate", state=known)
            )
            out.notes.append(f"pick list {request.pick_id} was received before ({known})")
            return out
        colour = self.colours.hand_out()
        if colour is None:
            held = len(self._held_colours())
            busy = f"{MAX_PICKERS - held} pick lists are open" + (
                f" and {held} put-away(s) hold a colour" if held else ""
            )
            error = f"{busy}; finish or cancel one first"
            out.commits.append(keeper.send_result("pick", request.pick_id, "error", error=error))
            out.refusals.append(f"pick list {request.pick_id} refused: {error}")
            return out
        reserved = reservations(self.lists.values())
        today = keeper.calendar.today()
        fefo_of = partial(keeper.index.fefo, today=today)
        lines = allocate_lines(request.lines, fefo_of, self.recalled, reserved)
        pick = PickList(request.pick_id, colour, lines, now, now, request.picker, request.scanner)
        pick.started = 1 + max((p.started for p in self.lists.values()), default=0)
        with keeper.group():
            out.commits.append(
                keeper.send_result(
                    "pick", pick.pick_id, "accepted", picker_no=pick.picker_no, lines=pick.summary()
                )
            )
            for n, line in enumerate(lines):
                if line.short:
                    out.commits.append(
                        self._orders.report_short(line.gtin, line.short, pick.pick_id)
                    )
                    out.notes.append(
                        f"pick list {pick.pick_id} line {n + 1}: short by {line.short} of "
                        f"{line.quantity} x GTIN {line.gtin}"
                    )
            self.save(pick, out)
            if pick.finished:  # nothing could be allocated: done at once, its colour free
                self.end(pick, PickState.DONE, out)
        out.notes.insert(0, f"pick list {pick.pick_id} started for picker {pick.picker_no + 1}")
        return out

    def cancel(self, pick_id: str, actor: str = "system") -> Outcome:
        """Stop a pick list and free its slots; what was picked stays picked."""
        out = Outcome()
        pick = self.lists.get(pick_id)
        if pick is None:
            state = self.store.state_of(pick_id)
            error = f"pick list {pick_id} is {state}" if state else f"no pick list {pick_id}"
            out.commits.append(self._keeper.send_result("pick", pick_id, "error", error=error))
            out.refusals.append(f"cancel refused: {error}")
            return out
        self.end(pick, PickState.CANCELLED, out, by=actor)
        return out

    def locate(self, gtin: str, seconds: float, command_id: str = "") -> Outcome:
        """Light for `seconds` the slots holding usable packs of `gtin` (available, unexpired, of
        no recalled batch), showing how many, earliest expiry first. Held packs are never lit."""
        keeper, out, usable = self._keeper, Outcome(), dict[str, int]()
        until = keeper.seconds() + seconds
        for line in keeper.index.fefo(gtin, keeper.calendar.today()):
            if (gtin, line.batch) not in self.recalled:
                usable[line.slot] = usable.get(line.slot, 0) + line.quantity
                self._located[line.slot] = (until, usable[line.slot])
        slots = [{"slot": s, "quantity": q} for s, q in usable.items()]
        out.commits.append(
            keeper.send_result(
                "locate", command_id or gtin, "located", gtin=gtin, slots=slots, seconds=seconds
            )
        )
        where = ", ".join(f"{s} ({q})" for s, q in usable.items()) or "no slot: none usable"
        out.notes.append(f"GTIN {gtin} is in {where}")
        out.lights_changed = bool(usable)
        return out

    def recall(self, gtin: str, batch: str, note: str, actor: str = "system") -> Outcome:
        """Recall a batch: every available pack of it is quarantined where it lies, and it is
        never offered to a pick list again."""
        keeper, out = self._keeper, Outcome()
        movements = [
            line.held(actor, f"recall: {note}".strip(": "))
            for line in keeper.index.lines_of(gtin)
            if line.batch == batch and line.status is StockStatus.AVAILABLE
        ]
        with keeper.group():
            self.store.add_recall(gtin, batch, keeper.stamp(), note)
            out.commits.append(keeper.commit(movements))
            out.commits.append(
                keeper.send_result(
                    "recall", f"{gtin}/{batch}", "recalled", quarantined=len(movements)
                )
            )
            self.recalled.add((gtin, batch))
            self.held_back(gtin, batch, out)
        out.notes.append(f"batch {batch} of GTIN {gtin} recalled; {len(movements)} lines held")
        return out

    def held_back(self, gtin: str, batch: str, out: Outcome) -> None:
        """A batch is held back (recalled, or quarantined as expired): what open lists still
        wanted of it is allocated again from what is left (FEFO), or reported short; its slots
        are no longer lit for them (inside the caller's transaction)."""
        for pick in list(self.by_age()):
            lines = [ln for ln in pick.lines if ln.gtin == gtin]
            if not any(a.batch == batch and a.remaining for ln in lines for a in ln.allocations):
                continue
            for line in lines:
                was = line.short
                for a in [a for a in line.allocations if a.batch == batch and a.remaining]:
                    a.quantity = a.picked  # what was picked of it stays picked
                self._allocate_again(pick, line, was, f"batch {batch} held back", out)
            self._after_change(pick, out)

    def overbooked(self, slot: str, gtin: str, out: Outcome) -> None:
        """Packs of `gtin` left `slot` (picked for a list that did not hold them there, moved,
        counted down): lists holding more there than the slot still has give the rest up and
        are allocated it again (FEFO), or reported short, the oldest list served first (inside
        the caller's transaction)."""
        have: dict[str, int] = {}
        for stock in self._keeper.index.contents(slot):
            if stock.gtin == gtin and stock.status is StockStatus.AVAILABLE:
                have[stock.batch] = have.get(stock.batch, 0) + stock.quantity
        for pick in list(self.by_age()):
            given_up = False
            for line in [ln for ln in pick.lines if ln.gtin == gtin]:
                for a in [a for a in line.allocations if a.slot == slot and a.remaining]:
                    kept = min(a.remaining, have.get(a.batch, 0))
                    have[a.batch] = have.get(a.batch, 0) - kept
                    if kept < a.remaining:
                        was, a.quantity = line.short, a.picked + kept
                        self._allocate_again(pick, line, was, f"its packs in {slot} taken", out)
                        given_up = True
            if given_up:
                self._after_change(pick, out)

    def _allocate_again(
        self, pick: PickList, line: ListLine, was: int, why: str, out: Outcome
    ) -> None:
        """What `line` lost of its allocations, set aside again (FEFO) from what is free, one
        allocation per slot and batch; what cannot be beyond what it `was` short of (reported
        then) is reported short as a list started short is (the shortage alarm, a request)."""
        keeper = self._keeper
        line.allocations = [a for a in line.allocations if a.quantity]
        wanted = line.quantity - line.allocated
        if wanted <= 0:
            return
        again = allocate(
            PickLine(line.gtin, wanted, line.batch),
            keeper.index.fefo(line.gtin, keeper.calendar.today()),
            self.recalled,
            reservations(self.lists.values()),
        )
        line.set_aside(again.allocations)
        if (newly := again.short - was) > 0:
            out.commits.append(self._orders.report_short(line.gtin, newly, pick.pick_id))
            out.notes.append(
                f"pick list {pick.pick_id}: {newly} more x GTIN {line.gtin} short, {why}"
            )

    def _after_change(self, pick: PickList, out: Outcome) -> None:
        self.save(pick, out)
        if pick.finished:
            self.end(pick, PickState.DONE, out)

    def refuse(
        self, command: str, command_id: str, error: str, message_id: str = "", replay_of: str = ""
    ) -> Outcome:
        """Answer a command that cannot be carried out; nothing of it is done. The answer
        names the refused message (`reply_to`) by its `message_id`, when given, or the message
        it is a copy of (`replay_of`)."""
        out = Outcome()
        echo = {"reply_to": message_id} if message_id else {}
        if replay_of:
            echo["replay_of"] = replay_of
        out.commits.append(
            self._keeper.send_result(command, command_id, "error", error=error, **echo)
        )
        out.refusals.append(f"{command} {command_id or '(no id)'} refused: {error}")
        return out

    def tick(self, behind: Collection[int] | None = None) -> Outcome:
        """Reminders, timeouts (a list waiting its turn behind an older one at every slot it
        wants is not idle meanwhile: `idle`), batches that expired under open lists, and
        mistakes and located shelves that have run their time. `behind`: the colours waiting
        their turn (`idle.waiting_turn`), when the caller worked them out for every desk at
        once; else from this desk's cues, which tell it as well (a list waits only behind
        another: a put-away waits behind lists)."""
        keeper, out = self._keeper, Outcome()
        now = keeper.seconds()
        self._expired_under_lists(out)
        behind = waiting_turn(self.cues()) if behind is None else behind
        self._idle.note({p.pick_id: p.picker_no for p in self.lists.values()}, behind, now)
        for pick in list(self.by_age()):
            idle = self._idle.idle(pick.pick_id, pick.touched_at, now)
            if idle >= self.times.timeout_seconds:
                self.end(pick, PickState.TIMED_OUT, out)
            elif idle >= self.times.remind_after_seconds and not pick.reminded:
                pick.reminded = True
                with keeper.group():
                    out.commits.append(
                        keeper.send_result(
                            "pick",
                            pick.pick_id,
                            "reminder",
                            idle_seconds=int(idle),
                            lines=pick.summary(),
                        )
                    )
                    self.save(pick, out)
                out.notes.append(f"pick list {pick.pick_id} untouched for {idle:.0f} s")
        for shown in [s for s in self.shown if s.until <= now]:
            self.shown.remove(shown)
            out.lights_changed = True
            line = None if shown.epc is None else keeper.line_of_epc(shown.epc)
            if line is None:
                continue
            try:
                unexpected_removal(keeper, self._alarms, shown, line, self.recalled, out)
                keeper.rollback.add(partial(self.shown.append, shown))  # still waited for
            except Refused as exc:  # nothing of it written: the rest of the beat goes on
                out.refusals.append(f"{shown.epc} not put back in {line.slot}, not booked: {exc}")
        for slot in [s for s, (until, _) in self._located.items() if until <= now]:
            del self._located[slot]
            out.lights_changed = True
        self.recent.expire(now)
        return out

    def _expired_under_lists(self, out: Outcome) -> None:
        """The site's midnight passed while lists were open: a batch they still want that
        expired is held back for them at once (allocated again, or reported short), not lit
        until the nightly sweep quarantines it."""
        today = self._keeper.calendar.today().isoformat()
        expired = {
            (line.gtin, a.batch)
            for pick in self.lists.values()
            for line in pick.lines
            for a in line.allocations
            if a.remaining and a.expiry is not None and a.expiry < today
        }
        if not expired:
            return
        with self._keeper.group():
            for gtin, batch in sorted(expired):
                self.held_back(gtin, batch, out)
                out.notes.append(f"batch {batch} of GTIN {gtin} expired under open pick lists")

    def cues(self) -> list[Cue]:
        """What every slot should show now: mistakes, the lists' picks, located shelves."""
        cues = []
        for slot in (s.mistake.slot for s in self.shown if s.mistake.slot):
            made = mistake_list(self.shown, self.lists, slot)
            cues.append(
                Cue(slot, CueKind.MISTAKE, whose=NOBODY if made is None else made.picker_no)
            )
        for pick in self.by_age():
            kind, colour = CueKind.REMIND if pick.reminded else CueKind.PICK, pick.picker_no
            order, since = pick.started, pick.created_at
            for line in pick.lines:
                for a in line.allocations:
                    if a.remaining > 0:
                        cues.append(
                            Cue(a.slot, kind, colour, a.remaining, order=order, since=since)
                        )
        cues += [Cue(slot, CueKind.LOCATE, 0, q) for slot, (_, q) in self._located.items()]
        return cues

    def by_age(self) -> Iterable[PickList]:
        """Open lists, oldest first (in the order they began; rows from before that order
        was kept, by the time they began)."""
        return sorted(self.lists.values(), key=lambda p: (p.started, p.created_at))

    def save(self, pick: PickList, out: Outcome) -> None:
        """Store a list's new state (inside the caller's transaction)."""
        self.store.save(pick, self._keeper.stamp())
        if pick.state is PickState.OPEN:
            self.lists[pick.pick_id] = pick
        out.lights_changed = True

    def end(self, pick: PickList, state: PickState, out: Outcome, by: str = "system") -> None:
        """A list is done, cancelled or timed out: reported, stored, its slots freed."""
        keeper = self._keeper
        pick.state = state
        pick.taken.clear()  # put back now, a pack is only back on the shelf
        with keeper.group():
            fields: dict[str, object] = {"lines": pick.summary()}
            if state is PickState.CANCELLED:
                fields["by"] = by
            out.commits.append(keeper.send_result("pick", pick.pick_id, str(state), **fields))
            self.save(pick, out)
        self.lists.pop(pick.pick_id, None)
        out.notes.append(f"pick list {pick.pick_id} {str(state).replace('_', ' ')}")
        out.lights_changed = True
