"""At the shelf: packs confirmed by button, scan or tag leaving, and the wrong ones caught.

Works on the pick desk's open lists (inventory.picking.desk): every confirmed pick is one `pick`
movement referencing its list, written with the list's new state and its `cmd-result` report in
one transaction. A pack that must not be picked is never booked.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from functools import partial

from inventory.alarms.book import AlarmBook
from inventory.codes.barcodes import PackScan
from inventory.ledger.movements import Movement, MovementKind, StockStatus
from inventory.picking.checks import Match, Mistake, as_scanned, check_pack, describe
from inventory.picking.colours import passed_on_note
from inventory.picking.desk import PickDesk
from inventory.picking.ledger_access import PickLedger
from inventory.picking.lists import PickList, PickState, TakenTag
from inventory.picking.outcome import Outcome, Shown
from inventory.picking.presses import pressed_list
from inventory.picking.results import message, progress
from inventory.picking.shelf_stock import pressed_line, scanned_line
from inventory.stock.held_packs import GoneHeld
from inventory.stock.slot_index import StockLine


@dataclass(frozen=True, slots=True)
class _ReaderPick:
    """A tagged pack a fixed reader booked picked when it left `slot`, which no press there
    has confirmed yet; a press until `until` confirms it."""

    slot: str
    pick_id: str
    what: str
    until: float


class ShelfEvents:
    """Packs confirmed at the shelf by button, scan or tag leaving, and the wrong ones caught,
    for the pick desk's open lists."""

    def __init__(self, desk: PickDesk, keeper: PickLedger, alarms: AlarmBook):
        self._desk = desk
        self._keeper = keeper
        self._unpressed: dict[str, _ReaderPick] = {}  # EPC -> its pick, booked by a reader
        self.gone = GoneHeld(  # held packs no reader sees, written off once gone a while
            keeper, alarms, lambda: desk.recalled, lambda: desk.times.mistake_seconds
        )

    def button(
        self, slot: str, presses: int, shown: int | None = None, least_seen: tuple[str, ...] = ()
    ) -> Outcome:
        """The confirm button of `slot` was pressed `presses` times: one pack picked each, for
        the list the slot showed (picker number `shown`; see `presses.pressed_list`). Presses
        beyond what that list wants there, or for a list ended since, book nothing: a button
        does not say who pressed it, so they are never taken for another list; nor do presses
        for a colour passed on to its list a moment ago (`ColourPool.passed_on`). Of tagged
        packs, the one booked is the first of `least_seen` (the pack a fixed reader stopped
        seeing), else by serial. A press soon after a fixed reader booked a pack taken from
        `slot` confirms that pick first, and books nothing more (`_confirms_reader`)."""
        out = Outcome()
        owner = pressed_list(self._desk, slot, shown)
        for _ in range(presses):
            if self._confirms_reader(slot, owner, out):
                continue
            if owner is not None and shown is not None and self._desk.colours.passed_on(shown):
                out.notes.append(passed_on_note(slot, shown, f"pick list {owner.pick_id}"))
                break
            if owner is None and shown is not None:  # the slot's owner a moment ago, ended
                out.notes.append(
                    f"button at {slot}: pressed for colour {shown + 1}, whose list or delivery "
                    "has ended; nothing booked"
                )
                break
            if owner is None:
                self._unlit(slot, out)
                break
            if not owner.wanted_at(slot):
                out.notes.append(
                    f"button at {slot}: pressed more often than pick list {owner.pick_id}"
                    " wanted packs there"
                )
                break
            n, line, allocation = owner.wanted_at(slot)[0]
            stock = pressed_line(self._keeper.index, slot, line.gtin, allocation.batch, least_seen)
            if stock is None:
                out.notes.append(f"button at {slot}: the ledger has no {line.gtin} left there")
                break
            # A pack allocated yesterday may have expired at midnight, or been recalled since:
            # a press is judged like a scan or a tag.
            keeper = self._keeper
            verdict = check_pack(stock, [owner], keeper.calendar.today(), self._desk.recalled)
            if isinstance(verdict, Mistake):
                self._show(verdict, out, [owner])
                break
            self._book(Match(owner, n, line, allocation), stock, "button", out)
        return out

    def awaits_press(self, slot: str) -> bool:
        """Whether a press at `slot` would confirm a pick a fixed reader booked there."""
        return any(p.slot == slot for p in self._reader_picks().values())

    def _confirms_reader(self, slot: str, owner: PickList | None, out: Outcome) -> bool:
        """Whether a press at `slot` confirms a pick a fixed reader booked there (the pack
        left the shelf for the dwell time before the picker pressed for it): one booked
        within `mistake_seconds` before, that no press has confirmed yet, `owner`'s first. It
        books nothing more: the picker's press is for the pack in hand, not another one. A
        reader does not say who took a pack, nor a button who pressed it, so any list's pick
        there counts; a tagged pack taken later is booked when it leaves all the same."""
        here = [(e, p) for e, p in self._reader_picks().items() if p.slot == slot]
        if not here:
            return False
        mine = owner.pick_id if owner is not None else None
        epc, pick = min(here, key=lambda found: (found[1].pick_id != mine, found[1].until))
        del self._unpressed[epc]
        self._keeper.rollback.add(lambda: self._unpressed.setdefault(epc, pick))  # unconfirmed
        out.notes.append(
            f"button at {slot}: confirms {pick.what}, booked for pick list {pick.pick_id} "
            "when the reader saw it leave; nothing more booked"
        )
        return True

    def _unlit(self, slot: str, out: Outcome) -> None:
        """A press on a slot no open list wants packs from. When every pack it holds of a
        product the lists want is wrong (a batch recalled, expired or held back under the
        picker, who took it when it was lit), that is shown; otherwise the press books
        nothing and says so."""
        lists = list(self._desk.by_age())
        wanted = {line.gtin for pick in lists for line in pick.lines if line.remaining}
        here = [line for line in self._keeper.index.contents(slot) if line.gtin in wanted]
        today = self._keeper.calendar.today()
        verdicts = [check_pack(line, lists, today, self._desk.recalled) for line in here]
        mistakes = [v for v in verdicts if isinstance(v, Mistake)]
        if mistakes and len(mistakes) == len(verdicts):
            self._show(mistakes[0], out, lists)
        else:
            out.notes.append(f"button at {slot}: nothing to pick there")

    def scanned(self, scan: PackScan, scanner: str) -> Outcome:
        """A GS1 barcode of a pack was scanned while picking."""
        out = Outcome()
        lists = self._lists_for(scanner)
        if not lists:
            return out
        recent = self._desk.recent.within(f"{scan.gtin}/{scan.serial}", self._keeper.seconds())
        if scan.serial and recent:
            out.notes.append(f"GTIN {scan.gtin} serial {scan.serial} was booked a moment ago")
            return out
        stock = scanned_line(self._keeper.index, scan, lists, self._desk.by_age())
        if stock is None:
            seen = describe(None, scan.gtin, scan.batch, scan.serial)
            self._show(Mistake("unknown pack", "a pack the shelves hold", seen, None), out, lists)
            return out
        self._judge(stock, lists, f"scan ({scanner})", out, *as_scanned(stock, scan))
        return out

    def tag_read(self, epc: str, scanner: str) -> Outcome:
        """A handheld reader read a pack's tag while picking."""
        out = Outcome()
        lists = self._lists_for(scanner)
        if not lists or self._desk.recent.within(epc, self._keeper.seconds()):
            return out
        stock = self._keeper.line_of_epc(epc)
        if stock is not None:
            self._judge(stock, lists, f"tag ({scanner})", out)
            if out.mistakes:  # a handheld reads on: one mistake while it is shown, not many
                until = self._keeper.seconds() + self._desk.times.mistake_seconds
                self._desk.recent.mark(epc, until)
        return out

    def removed(self, epc: str, slot: str) -> Outcome:
        """A fixed reader stopped seeing a tagged pack in `slot`: picked, or a mistake. With
        no pick list open, a quarantined pack (expired, recalled) is written off once it has
        stayed gone (`GoneHeld`): taken off the shelf to be destroyed or sent back."""
        keeper, out = self._keeper, Outcome()
        stock = keeper.line_of_epc(epc)
        if stock is None:
            return out
        if not self._desk.lists:
            return self.gone.left(stock, slot)
        verdict = check_pack(
            stock, list(self._desk.by_age()), keeper.calendar.today(), self._desk.recalled
        )
        if isinstance(verdict, Mistake):
            self._show(verdict, out, list(self._desk.by_age()), epc=epc)
        else:
            self._book(verdict, stock, "tag left the shelf", out)
            until = keeper.seconds() + self._desk.times.mistake_seconds
            what = describe(stock, stock.gtin, stock.batch, stock.serial)
            self._reader_picks()[epc] = _ReaderPick(stock.slot, verdict.pick.pick_id, what, until)
            keeper.rollback.add(lambda: self._unpressed.pop(epc, None))  # not booked after all
        return out

    def _reader_picks(self) -> dict[str, _ReaderPick]:
        """The picks fixed readers booked that a press may still confirm (by EPC)."""
        now = self._keeper.seconds()
        self._unpressed = {e: p for e, p in self._unpressed.items() if p.until > now}
        return self._unpressed

    def returned(self, epc: str) -> Outcome:
        """A tagged pack held after a wrong removal is seen on the shelf again."""
        out = Outcome()
        for shown in [s for s in self._desk.shown if s.epc == epc]:
            self._desk.shown.remove(shown)
            self._keeper.rollback.add(partial(self._desk.shown.append, shown))  # still out
            out.notes.append(f"the wrong pack is back in {shown.mistake.slot}")
            out.lights_changed = True
        return out

    def put_back(self, epc: str, slot: str) -> Outcome | None:
        """A tagged pack picked for a list still open is seen again in the slot it was taken
        from: put back, not picked. It is booked back as it was (a `return` referencing the
        list) and the list wants it again there; None when the pack was not picked so. What
        the lists took is in the file with them, so this holds across a restart."""
        pick = next((p for p in self._desk.by_age() if epc in p.taken), None)
        if pick is None or pick.taken[epc].slot != slot:
            return None
        keeper, taken = self._keeper, pick.taken[epc]
        line = pick.lines[taken.line]
        stock = StockLine(
            slot, line.gtin, taken.batch, taken.serial, StockStatus.AVAILABLE, epc, taken.expiry, 1
        )
        allocation = next(
            (a for a in line.allocations if (a.slot, a.batch) == (slot, taken.batch) and a.picked),
            None,
        )
        today = keeper.calendar.today().isoformat()
        if (
            allocation is None
            or (stock.gtin, stock.batch) in self._desk.recalled
            or (stock.expiry is not None and stock.expiry < today)
        ):  # a batch held back since (kept allocated for what was picked): not wanted again
            return None
        movement = Movement(
            MovementKind.RETURN,
            stock.gtin,
            1,
            stock.serial,
            epc,
            stock.batch,
            stock.expiry,
            to_slot=slot,
            actor=pick.picker or f"picker {pick.picker_no + 1}",
            reason=f"put back while pick list line {taken.line + 1} was open",
            reference=pick.pick_id,
        )
        allocation.picked -= 1
        del pick.taken[epc]
        match = Match(pick, taken.line, line, allocation)
        out = Outcome()
        try:
            with keeper.group():
                report = progress(keeper.stamp(), pick, match, stock, "put back")
                out.commits.append(keeper.commit([movement], messages=[report]))
                pick.touched_at = keeper.seconds()
                self._desk.save(pick, out)
        except Exception:
            allocation.picked += 1  # refused by the ledger: the list as it was
            pick.taken[epc] = taken
            raise
        self._desk.recent.forget(epc)
        self._unpressed.pop(epc, None)  # not picked after all: a press books anew
        out.notes.append(
            f"pick list {pick.pick_id} line {taken.line + 1}: "
            f"{describe(stock, stock.gtin, stock.batch, stock.serial)} put back in {slot}"
        )
        return out

    def holds(self, epc: str) -> bool:
        """Whether a wrongly taken pack is being held as on the shelf."""
        return any(s.epc == epc for s in self._desk.shown)

    def _lists_for(self, scanner: str) -> list[PickList]:
        return [p for p in self._desk.by_age() if not p.scanner or p.scanner == scanner]

    def _judge(
        self,
        stock: StockLine,
        lists: list[PickList],
        how: str,
        out: Outcome,
        seen: StockLine | None = None,
        dates: str = "",
    ) -> None:
        """Judge a pack (`seen`: as its code says, where the ledger's `stock` does not), and
        say with the verdict how its printed expiry differs from the ledger's (`dates`)."""
        seen = seen or stock
        verdict = check_pack(seen, lists, self._keeper.calendar.today(), self._desk.recalled)
        if isinstance(verdict, Mistake):
            said = replace(verdict, seen=f"{verdict.seen} ({dates})") if dates else verdict
            self._show(said, out, lists)
            return
        self._book(verdict, seen, how, out, held=stock)
        if dates:
            out.notes.append(f"{how}: {dates}; judged and booked by the earlier date")

    def _book(
        self, match: Match, stock: StockLine, how: str, out: Outcome, held: StockLine | None = None
    ) -> None:
        """One pack picked for `match`: the movement, the list's progress, its report. `held`:
        the pack's line as the ledger holds it, when `stock` adds a batch its code gave."""
        keeper, pick = self._keeper, match.pick
        held = held or stock
        scanned = f" (batch {stock.batch} as scanned)" if stock.batch != held.batch else ""
        movement = Movement(
            MovementKind.PICK,
            stock.gtin,
            1,
            stock.serial,
            stock.epc,
            held.batch,  # the line it leaves; its expiry, known now, goes with it
            stock.expiry,
            from_slot=stock.slot,
            actor=pick.picker or f"picker {pick.picker_no + 1}",
            reason=f"pick list line {match.line_no + 1}, confirmed by {how}{scanned}",
            reference=pick.pick_id,
        )
        before = [replace(a) for a in match.line.allocations]
        match.line.count_pick(match.allocation, stock.slot, stock.batch, stock.expiry)
        if stock.epc:  # wanted again when put back while the list is open
            pick.taken[stock.epc] = TakenTag(
                match.line_no, stock.slot, stock.batch, stock.serial, stock.expiry
            )
        report = progress(keeper.stamp(), pick, match, stock, how)
        try:
            with keeper.group():
                out.commits.append(keeper.commit([movement], messages=[report]))
                pick.touched_at = keeper.seconds()
                pick.reminded = False
                self._desk.save(pick, out)
                if pick.finished:
                    self._desk.end(pick, PickState.DONE, out)
        except Exception:
            match.line.allocations = before  # refused by the ledger: the list as it was
            pick.taken.pop(stock.epc or "", None)
            raise
        # A pack taken by mistake and then the right one: the slot is right again.
        self._desk.shown = [
            s for s in self._desk.shown if s.epc is not None or s.mistake.slot != stock.slot
        ]
        recent_until = keeper.seconds() + self._desk.times.mistake_seconds
        if stock.serial:
            self._desk.recent.mark(f"{stock.gtin}/{stock.serial}", recent_until)
        if stock.epc:
            out.booked_epcs.append(stock.epc)
            self._desk.recent.mark(stock.epc, recent_until)
        what = describe(stock, stock.gtin, stock.batch, stock.serial)
        out.notes.append(
            f"pick list {pick.pick_id} line {match.line_no + 1}: {what} from {stock.slot} "
            f"by {how} ({match.line.picked}/{match.line.allocated})"
        )
        out.lights_changed = True

    def _show(
        self, mistake: Mistake, out: Outcome, lists: list[PickList], epc: str | None = None
    ) -> None:
        """Show a mistake on its slot and report it to `lists` (those it may belong to)."""
        keeper = self._keeper
        until = keeper.seconds() + self._desk.times.mistake_seconds
        self._desk.shown = [s for s in self._desk.shown if not (epc is not None and s.epc == epc)]
        self._desk.shown.append(Shown(mistake, until, epc, tuple(p.pick_id for p in lists)))
        at, said = keeper.stamp(), asdict(mistake)  # reason, expected, seen, slot
        report = [message(at, "pick", p.pick_id, "mistake", **said) for p in lists]
        if report:
            out.commits.append(keeper.send(report))
        out.mistakes.append(mistake)
        out.lights_changed = True
