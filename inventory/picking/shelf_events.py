"""At the shelf: packs confirmed by button, scan or tag leaving, and the wrong ones caught.

The base of the pick desk (inventory.picking.desk): every confirmed pick is one `pick` movement
referencing its list, written with the list's new state and its `cmd-result` report in one
transaction. A pack that must not be picked is never booked.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from inventory.alarms.lifecycle import AlarmKind
from inventory.ledger.movements import Movement, MovementKind, StockStatus
from inventory.picking.checks import Match, Mistake, check_pack, describe
from inventory.picking.lists import PickList, PickState
from inventory.picking.outcome import Outcome, Shown
from inventory.picking.results import PickTimes, message, progress
from inventory.picking.store import PickStore
from inventory.stock.slot_index import StockLine

if TYPE_CHECKING:
    from inventory.keeper import InventoryKeeper


class ShelfEvents:
    """Confirmations and mistakes; the pick desk adds the commands."""

    _keeper: InventoryKeeper
    times: PickTimes
    store: PickStore
    lists: dict[str, PickList]
    recalled: set[tuple[str, str]]
    _shown: list[Shown]
    _recent: dict[str, float]

    def button(self, slot: str, presses: int, shown: int | None = None) -> Outcome:
        """The confirm button of `slot` was pressed `presses` times: one pack picked each, for
        the list whose light the slot showed (picker number `shown`), else the oldest there."""
        out = Outcome()
        for _ in range(presses):
            wanting = [p for p in self._by_age() if p.wanted_at(slot)]
            owner = next((p for p in wanting if p.picker_no == shown), None) or next(
                iter(wanting), None
            )
            if owner is None:
                out.notes.append(f"button at {slot}: nothing to pick there")
                break
            n, line, allocation = owner.wanted_at(slot)[0]
            stock = self._stock_for(slot, line.gtin, allocation.batch)
            if stock is None:
                out.notes.append(f"button at {slot}: the ledger has no {line.gtin} left there")
                break
            self._book(Match(owner, n, line, allocation), stock, "button", out)
        return out

    def scanned(self, gtin: str, batch: str, serial: str, scanner: str) -> Outcome:
        """A GS1 barcode of a pack was scanned while picking."""
        out = Outcome()
        lists = self._lists_for(scanner)
        if not lists:
            return out
        if serial and self._recent.get(f"{gtin}/{serial}", 0.0) > self._keeper.seconds():
            out.notes.append(f"GTIN {gtin} serial {serial} was booked a moment ago")
            return out
        stock = self._find(gtin, batch, serial)
        if stock is None:
            seen = describe(None, gtin, batch, serial)
            self._show(Mistake("unknown pack", "a pack the shelves hold", seen, None), out, lists)
            return out
        self._judge(stock, lists, f"scan ({scanner})", out)
        return out

    def tag_read(self, epc: str, scanner: str) -> Outcome:
        """A handheld reader read a pack's tag while picking."""
        out = Outcome()
        lists = self._lists_for(scanner)
        if not lists or self._recent.get(epc, 0.0) > self._keeper.seconds():
            return out
        stock = self._keeper.line_of_epc(epc)
        if stock is not None:
            self._judge(stock, lists, f"tag ({scanner})", out)
        return out

    def removed(self, epc: str, slot: str) -> Outcome:
        """A fixed reader stopped seeing a tagged pack in `slot`: picked, or a mistake."""
        keeper, out = self._keeper, Outcome()
        stock = keeper.line_of_epc(epc)
        if stock is None:
            return out
        if not self.lists:
            out.commits.append(keeper.take(epc, reason="left the shelf"))
            out.booked_epcs.append(epc)
            return out
        verdict = check_pack(stock, list(self._by_age()), keeper.calendar.today(), self.recalled)
        if isinstance(verdict, Mistake):
            self._show(verdict, out, list(self._by_age()), epc=epc)
        else:
            self._book(verdict, stock, "tag left the shelf", out)
        return out

    def returned(self, epc: str) -> Outcome:
        """A tagged pack held after a wrong removal is seen on the shelf again."""
        out = Outcome()
        for shown in [s for s in self._shown if s.epc == epc]:
            self._shown.remove(shown)
            out.notes.append(f"the wrong pack is back in {shown.mistake.slot}")
            out.lights_changed = True
        return out

    def holds(self, epc: str) -> bool:
        """Whether a wrongly taken pack is being held as on the shelf."""
        return any(s.epc == epc for s in self._shown)

    def _by_age(self) -> Iterable[PickList]:
        return sorted(self.lists.values(), key=lambda p: p.created_at)

    def _lists_for(self, scanner: str) -> list[PickList]:
        return [p for p in self._by_age() if not p.scanner or p.scanner == scanner]

    def _judge(self, stock: StockLine, lists: list[PickList], how: str, out: Outcome) -> None:
        verdict = check_pack(stock, lists, self._keeper.calendar.today(), self.recalled)
        if isinstance(verdict, Mistake):
            self._show(verdict, out, lists)
        else:
            self._book(verdict, stock, how, out)

    def _book(self, match: Match, stock: StockLine, how: str, out: Outcome) -> None:
        """One pack picked for `match`: the movement, the list's progress, its report."""
        keeper, pick = self._keeper, match.pick
        movement = Movement(
            MovementKind.PICK,
            stock.gtin,
            1,
            stock.serial,
            stock.epc,
            stock.batch,
            stock.expiry,
            from_slot=stock.slot,
            actor=pick.picker or f"picker {pick.picker_no + 1}",
            reason=f"pick list line {match.line_no + 1}, confirmed by {how}",
            reference=pick.pick_id,
        )
        match.allocation.picked += 1
        pick.touched_at = keeper.seconds()
        pick.reminded = False
        report = progress(keeper.stamp(), pick, match, stock, how)
        with keeper.group():
            out.commits.append(keeper.commit([movement], messages=[report]))
            self._save(pick, out)
            if pick.finished:
                self._end(pick, PickState.DONE, out)
        # A pack taken by mistake and then the right one: the slot is right again.
        self._shown = [s for s in self._shown if s.epc is not None or s.mistake.slot != stock.slot]
        recent_until = keeper.seconds() + self.times.mistake_seconds
        if stock.serial:
            self._recent[f"{stock.gtin}/{stock.serial}"] = recent_until
        if stock.epc:
            out.booked_epcs.append(stock.epc)
            self._recent[stock.epc] = recent_until
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
        until = keeper.seconds() + self.times.mistake_seconds
        self._shown = [s for s in self._shown if not (epc is not None and s.epc == epc)]
        self._shown.append(Shown(mistake, until, epc))
        report = [
            message(
                self._keeper.stamp(),
                "pick",
                p.pick_id,
                "mistake",
                reason=mistake.reason,
                slot=mistake.slot,
                expected=mistake.expected,
                seen=mistake.seen,
            )
            for p in lists
        ]
        if report:
            out.commits.append(keeper.send(report))
        out.mistakes.append(mistake)
        out.notes.append(
            f"MISTAKE at {mistake.slot or 'the scanner'}: {mistake.reason}; "
            f"expected {mistake.expected}, seen {mistake.seen}"
        )
        out.lights_changed = True

    def _unexpected_removal(self, shown: Shown, out: Outcome) -> None:
        keeper, epc = self._keeper, str(shown.epc)
        with keeper.group():
            out.commits.append(
                keeper.take(
                    epc,
                    reason=f"taken at the shelf by mistake ({shown.mistake.reason})"
                    " and not put back",
                )
            )
            out.commits.append(
                keeper.raise_alarm(
                    AlarmKind.UNEXPECTED_REMOVAL,
                    epc,
                    {"epc": epc, "slot": shown.mistake.slot, "reason": shown.mistake.reason},
                )
            )
        out.booked_epcs.append(epc)
        out.notes.append(f"{epc} was not put back in {shown.mistake.slot}: unexpected removal")

    def _end(self, pick: PickList, state: PickState, out: Outcome, by: str = "system") -> None:
        keeper = self._keeper
        pick.state = state
        with keeper.group():
            fields: dict[str, object] = {"lines": pick.summary()}
            if state is PickState.CANCELLED:
                fields["by"] = by
            out.commits.append(
                keeper.send(
                    [message(self._keeper.stamp(), "pick", pick.pick_id, str(state), **fields)]
                )
            )
            self._save(pick, out)
        self.lists.pop(pick.pick_id, None)
        out.notes.append(f"pick list {pick.pick_id} {str(state).replace('_', ' ')}")
        out.lights_changed = True

    def _save(self, pick: PickList, out: Outcome) -> None:
        self.store.save(pick, self._keeper.stamp())
        if pick.state is PickState.OPEN:
            self.lists[pick.pick_id] = pick
        out.lights_changed = True

    def _stock_for(self, slot: str, gtin: str, batch: str) -> StockLine | None:
        """The pack a button press at `slot` takes: a counted line first, else the first tag."""
        lines = [
            line
            for line in self._keeper.index.contents(slot)
            if line.gtin == gtin and line.batch == batch and line.status is StockStatus.AVAILABLE
        ]
        lines.sort(key=lambda line: (line.serial != "", line.serial))
        return lines[0] if lines else None

    def _find(self, gtin: str, batch: str, serial: str) -> StockLine | None:
        """The stock line of a scanned pack: by serial, or a counted line of its batch (an
        allocated slot first)."""
        lines = [
            line
            for line in self._keeper.index.lines_of(gtin)
            if (line.serial == serial if serial else line.batch == batch and not line.serial)
        ]
        if serial:
            lines = [line for line in lines if not batch or line.batch == batch]
        wanted = {
            a.slot
            for p in self.lists.values()
            for ln in p.lines
            for a in ln.allocations
            if ln.gtin == gtin and a.remaining > 0
        }
        lines.sort(key=lambda line: line.slot not in wanted)
        return lines[0] if lines else None
