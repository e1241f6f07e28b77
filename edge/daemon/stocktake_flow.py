"""Stocktake sweeps on the daemon's loop: started by command or by the handheld reading a
shelf's location tag, fed by the handheld's reads, ended by command, when the handheld has
been quiet for `stocktake.idle_end_seconds` after reading, or when its rounds say it has moved
on to another shelf (whose sweep then begins), then reconciled on the ledger's writer. A sweep
that read nothing is abandoned: there is nothing to judge.

A sweep is one handheld's: the one whose location tag began it, or, begun by command, the
first to read a location tag of the shelf counted (a stray tag, another shelf's location tag or
a pack claims nothing: the packs a handheld reads before it, in its last `HELD_ROUNDS` rounds
since it last read another shelf's location tag, are held for the sweep and counted, their
slot unknown, if it claims it). Other handhelds' reads and rounds never reach it. Whether a
handheld not counting picks is up to its rounds (`handheld_rounds`): a round that reads a
shelf's location tag never picks, so a sweep begins even while pick lists are open, and its
handheld's reads are the count's until it has gone quiet. A handheld picking counts nothing: a
sweep begun by command does not take it, and is refused, naming them, when every handheld is
picking or down. The activity log says so when a count takes a handheld's reads while pick
lists wait on it, and when a count does not take a handheld's location tag.

A report that found differences waits for a pharmacist: `cmd/stocktake-confirm`, `rxedge
stocktake confirm`, or the pharmacist's badge on the reader (`badge_tap`), which cannot look:
it leaves the packs found that are booked on another shelf (maybe read through from there)
where the ledger has them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

from edge.clock import Clock
from edge.daemon.activity import Activity, Observer
from edge.settings.config import GatewayConfig
from inventory.changes import (
    Answering,
    Change,
    ConfirmStocktake,
    FinishStocktake,
    Refuse,
    StocktakeStarted,
)
from inventory.codes.identifiers import LocationId, PackId
from inventory.ledger.free_ids import first_free
from inventory.site_calendar import SiteCalendar
from inventory.stocktake.badge_tap import BadgeTaps
from inventory.stocktake.handheld_rounds import HandheldRounds
from inventory.stocktake.rounds import Round, moved_to
from inventory.stocktake.shelf_tags import ShelfTags
from inventory.stocktake.sweep import Sweep


class StocktakeFlow:
    """At most one sweep at a time; its handheld's reads go to it while it runs."""

    def __init__(
        self,
        config: GatewayConfig,
        submit: Callable[[Change], object],
        observe: Observer,
        open_lists: Callable[[], Mapping[str, str]],
        clock: Clock,
        calendar: SiteCalendar,
        watched: Callable[[], Mapping[str, str]] = dict,
    ):
        self._clock = clock
        self._calendar = calendar
        self._submit = submit
        self._observe = observe
        self._rounds = HandheldRounds(open_lists)  # which handhelds not counting pick
        # EPC -> the slot a fixed reader sees the pack in now (the presence tracker's view)
        self._watched = watched
        self._handheld_names = sorted(r.name for r in config.readers if r.role == "handheld")
        self._idle_end = config.stocktake.idle_end_seconds
        self._handheld_wait = config.stocktake.handheld_wait_seconds
        self._tags = ShelfTags((s.name, s.gln, s.slot_names()) for s in config.shelves)
        self.sweep: Sweep | None = None
        self._taps = BadgeTaps(config.stocktake.badge_confirm_seconds)  # counts ended lately
        self._last_read = 0.0
        self._started_at = 0.0  # when the running sweep began (monotonic)
        self._heard = False  # the running sweep has taken a read of the handheld
        self._handhelds_down: dict[str, float] = {}  # reader -> since when (monotonic)
        # The running (else the last) sweep's handheld ('': a sweep begun by command, no read
        # yet): only its reads and rounds reach the sweep.
        self._sweeper = ""
        self._unclaimed_reads = 0  # pack reads held for the running sweep before it was claimed
        self._begun: tuple[str, set[str]] = ("", set())  # a second, and the ids begun in it
        self._last_end = ""  # which sweep ended last, how and when: for an end that comes late

    def start(
        self,
        shelf: str,
        by: str,
        command: bool = True,
        message_id: str = "",
        handheld: str = "",
    ) -> None:
        """Begin a sweep of `shelf` (refused, with the reason, while another runs), by
        `handheld` if known; as the answer to the command message `message_id`, when a
        command asked."""
        error, uris = "", self._tags.uris(shelf)
        if self.sweep is not None:
            error = f"stocktake {self.sweep.stocktake_id} of shelf {self.sweep.shelf} is running"
        elif shelf not in self._tags.slots:
            error = f"no shelf {shelf!r}; shelves: {', '.join(sorted(self._tags.slots))}"
        elif uris is None:
            error = f"shelf {shelf!r} has no gln in the configuration: its slots have no SGLN"
        elif command and self._handheld_names:
            error = self._no_handheld()
        if error or uris is None:
            if command:
                self._submit(Refuse("stocktake-start", shelf, error, message_id))
            self._observe(Activity("stocktake", f"not started: {error}"))
            return
        # The id carries the site's local time: the day a person says the count was made.
        stamp = self._calendar.now().astimezone(self._calendar.zone).strftime("%Y%m%dT%H%M%S")
        if self._begun[0] != stamp:
            self._begun = (stamp, set())
        begun = self._begun[1]  # a second sweep begun in the same second: -2, -3, ...
        stocktake_id = first_free(f"st-{shelf}-{stamp}", begun.__contains__)
        begun.add(stocktake_id)
        sweep = Sweep(stocktake_id, shelf, self._tags.slots[shelf], by or "handheld", uris)
        self.sweep, self._last_read, self._sweeper = sweep, self._clock.monotonic(), handheld
        self._rounds.new_count()
        self._started_at, self._heard, self._unclaimed_reads = self._last_read, False, 0
        for reader in self._handhelds_down:  # a handheld down already: the wait starts now
            self._handhelds_down[reader] = self._last_read
        self._answer(StocktakeStarted(sweep), "stocktake-start", shelf, message_id)
        self._counts_beside_lists()

    def end(
        self, stocktake_id: str | None = None, abandoned: str = "", message_id: str = ""
    ) -> None:
        """Finish the running sweep (the one named, if a name is given) and reconcile it; with
        `abandoned`, the reason it cannot be: it is kept unjudged, as is a sweep that read
        nothing. `message_id`: the command message that asked, if one did."""
        sweep = self.sweep
        if sweep is None or (stocktake_id and stocktake_id != sweep.stocktake_id):
            error = (
                f"no stocktake is running{self._last_end}"
                if sweep is None
                else (f"the running stocktake is {sweep.stocktake_id}")
            )
            self._submit(Refuse("stocktake-end", stocktake_id or "", error, message_id))
            return
        self.sweep = None
        sweep.settle()
        watched = self._watched()
        sweep.watched = {epc: watched[epc] for epc in sweep.packs if epc in watched}
        if not abandoned and not self._sweeper:
            abandoned = self._unclaimed(sweep.shelf)
        elif not abandoned and not sweep.reads:
            abandoned = "the handheld read nothing of the shelf: sweep it again"
        if not abandoned:
            now = self._clock.monotonic()
            self._taps.ended(sweep.stocktake_id, sweep.shelf, sweep.passed, now)
        how = "was abandoned" if abandoned else "ended" if message_id else "ended by itself"
        sid, at = sweep.stocktake_id, self._calendar.clock_time(self._calendar.now())
        self._last_end = (
            f"; the last, {sid} of shelf {sweep.shelf}, {how} at {at}: see its report, "
            f"rxedge stocktake report {sid}"
        )
        finish = FinishStocktake(sweep, abandoned)
        self._answer(finish, "stocktake-end", stocktake_id or "", message_id)

    @property
    def awaiting(self) -> str | None:
        """The report ended last and not confirmed, if one waits."""
        return self._taps.latest

    def confirm(self, stocktake_id: str, by: str, message_id: str = "", tap: bool = False) -> None:
        """Confirm a report: by command or on the page, all of it; by `tap`, a badge at the
        shelf, all but the packs found that are booked on another shelf (maybe read through
        from there), which stay where the ledger has them."""
        self._taps.confirmed(stocktake_id)
        confirm = ConfirmStocktake(stocktake_id, by, tap)
        self._answer(confirm, "stocktake-confirm", stocktake_id, message_id)

    def _answer(self, change: Change, command: str, answer_id: str, message_id: str) -> None:
        """Hand `change` on, as the answer to the command message `message_id` if one asked."""
        self._submit(Answering(message_id, command, answer_id, change) if message_id else change)

    def badge(self, name: str) -> bool:
        """A pharmacist badged in: confirms the count just made, if it is the one count that
        ended within `stocktake.badge_confirm_seconds` (a tap at the shelf once the count is
        done), leaving the packs it found that are booked on another shelf where the ledger
        has them; else it says why not and how to confirm (`badge_tap`)."""
        chosen, why = self._taps.tapped(name, self._clock.monotonic(), self.sweep)
        if why:
            self._observe(Activity("stocktake", why))
        if chosen is not None:
            self.confirm(chosen, name, tap=True)
        return chosen is not None

    def _no_handheld(self) -> str:
        """Why no handheld can count (every one picking or down), else ''."""
        picking = [name for name in self._handheld_names if self._rounds.picks(name)]
        down = [n for n in self._handheld_names if n in self._handhelds_down and n not in picking]
        if len(picking) + len(down) < len(self._handheld_names):
            return ""
        why, fix = [], []
        if picking:
            why.append(
                f"{', '.join(picking)} read for the open pick lists, and a handheld counts or "
                "picks, not both"
            )
            fix.append("finish or cancel the pick lists")
        if down:
            why.append(f"{', '.join(down)} {'is' if len(down) == 1 else 'are'} down")
            fix.append("bring " + ("it" if len(down) == 1 else "one") + " back")
        return (
            f"no handheld to count with: {'; '.join(why)}; {' or '.join(fix)}, then start the count"
        )

    def read(self, identity: object, rssi: int, holder: str, reader: str = "") -> bool:
        """A handheld read (by `reader`): True when the count took it (or holds it for the
        handheld it waits for). A pack read of a handheld not counting waits for its round to
        end: `round_done` says whether it was a pick."""
        now = self._clock.monotonic()
        if self.sweep is not None and reader == self._sweeper:
            return self._read(identity, rssi, now)
        if reader == self._sweeper and now - self._last_read < self._idle_end:
            # The sweep just ended is still in the field (ended by command, or the reads of its
            # last moments arrive late): its handheld neither picks nor begins another until
            # it has gone quiet.
            self._last_read = now
            return False
        if isinstance(identity, PackId):
            self._rounds.hold(reader, identity, rssi)
            waits = self._waiting() and not self._rounds.lists_for(reader)
            self._unclaimed_reads += waits  # held for the count waiting for its handheld
            return waits
        if not isinstance(identity, LocationId):
            return False
        where = self._tags.where(identity)
        if where is None:
            return False
        self._rounds.swept(reader)  # a sweep's round: none of its pack reads is a pick
        waiting_here = self._waiting() and where[0] == (self.sweep and self.sweep.shelf)
        if self.sweep is None and not self._rounds.picks(reader):
            self.start(where[0], holder, command=False, handheld=reader)  # its trigger
        elif waiting_here and not self._rounds.picks(reader):
            self._sweeper = reader  # this handheld does the count
            self._counts_beside_lists()
        elif self._waiting() and not waiting_here:
            self._rounds.drop(reader)  # at another shelf: what it read is not this one's
        if self.sweep is None or reader != self._sweeper:
            self._not_counted(reader, where[0])
            return False
        held = self._rounds.take(reader)
        for packs in held:  # its rounds before: read before any location tag of the shelf
            for pack, pack_rssi in packs:
                self.sweep.pack(pack, pack_rssi)
            if packs is not held[-1]:
                self.sweep.round_done()
        self._rounds.new_count()
        return self._read(identity, rssi, now)

    def _counts_beside_lists(self) -> None:
        """Tell that the running sweep's handheld counts, not picks, for the pick lists open."""
        reader, sweep = self._sweeper, self.sweep
        if sweep is not None and reader and (lists := self._rounds.lists_for(reader)):
            self._tell(
                reader,
                f"handheld {reader} counts shelf {sweep.shelf} (stocktake {sweep.stocktake_id})"
                f": its reads are the count's, not picks for the open pick lists "
                f"{', '.join(lists)}, until it has been quiet for {self._idle_end:g} s; confirm "
                "their packs by button or scanner",
            )

    def _waiting(self) -> bool:
        """Whether a sweep begun by command waits for its handheld."""
        return self.sweep is not None and not self._sweeper

    def _not_counted(self, reader: str, shelf: str) -> None:
        """`reader` read shelf `shelf`'s location tag and the count does not take it: say why,
        and that what it read with it is not picked either."""
        neither = f"what it reads with shelf {shelf}'s location tags is neither counted nor picked"
        if self._rounds.picks(reader):
            lists = ", ".join(self._rounds.lists_for(reader))
            why = (
                f"handheld {reader} picks for the open pick lists {lists} (a handheld counts or "
                f"picks, not both): {neither}; finish or cancel the lists, then sweep the shelf"
            )
        elif self.sweep is not None:
            by = f" with handheld {self._sweeper}" if self._sweeper else ""
            why = (
                f"handheld {reader}: stocktake {self.sweep.stocktake_id} of shelf "
                f"{self.sweep.shelf} runs{by}, one count at a time: {neither}"
            )
        else:
            return
        self._tell(reader, why)

    def _tell(self, reader: str, text: str) -> None:
        """Say `text` about handheld `reader`, unless it is what was said last about it."""
        if self._rounds.news(reader, text):
            self._observe(Activity("stocktake", text))

    def _read(self, identity: object, rssi: int, now: float) -> bool:
        """A read of the running sweep's handheld: the count's."""
        assert self.sweep is not None
        if isinstance(identity, LocationId):
            where = self._tags.where(identity)
            if where is not None:  # of its shelf or another: its rounds say where it is
                self.sweep.location(where[1], identity.epc, rssi)
                self._heard_at(now)
        elif isinstance(identity, PackId):
            self.sweep.pack(identity, rssi)
            self._heard_at(now)
        return True

    def _heard_at(self, now: float) -> None:
        """The running sweep's handheld read for it: its quiet time counts from now."""
        self._last_read, self._heard = now, True

    def handheld(self, reader: str, up: bool) -> None:
        """A handheld went down or came back. A sweep waits while it is down (an unplugged
        cable is not the end of the count), and its quiet time counts again from the return:
        left quiet, the sweep ends there, judging the slots it passed (the rest of the shelf,
        swept later, is a count of its own). Down longer than
        `stocktake.handheld_wait_seconds`, the sweep is abandoned (`watch`). The round it was
        in did not end: what it read is neither picked nor held (`handheld_rounds`)."""
        self._rounds.gone(reader)
        if up:
            was_down = self._handhelds_down.pop(reader, None) is not None
            if was_down and self.sweep is not None and reader == self._sweeper:
                self._last_read = self._clock.monotonic()
            return
        self._handhelds_down.setdefault(reader, self._clock.monotonic())
        if self.sweep is not None and self._sweeper == reader:
            self._observe(
                Activity(
                    "stocktake",
                    f"stocktake {self.sweep.stocktake_id} waits for handheld {reader} to return "
                    f"(at most {self._handheld_wait:g} s; or `rxedge stocktake end`)",
                )
            )

    def round_done(self, holder: str = "", reader: str = "") -> list[PackId]:
        """A handheld's round ended (`reader`'s: another handheld's rounds are not the
        sweep's); returned, the pack reads of that round that are picks (`handheld_rounds`).
        Once the sweep's rounds say it has moved on to another shelf, the sweep ends there,
        judged on what it read, and a sweep of that shelf begins with the rounds read at it
        (credited to `holder`, the one pharmacist badged in, else to whom the ended sweep was)."""
        if self.sweep is None or reader != self._sweeper:
            return self._rounds.round_done(reader, self._waiting())
        moved_on = self.sweep.round_done()
        while moved_on and self.sweep is not None:
            moved_on = self._moved_on(moved_on, holder or self.sweep.by)
        return []

    def round_cut(self, reader: str) -> None:
        """A round of handheld `reader` did not end (its end lost): its reads decide nothing."""
        self._rounds.cut(reader)

    def _moved_on(self, rounds: list[Round], by: str) -> list[Round]:
        slot = moved_to(rounds)
        self.end()
        if slot is None:
            return []
        self.start(self._tags.shelf_of(slot), by, command=False, handheld=self._sweeper)
        if self.sweep is None:
            return []
        self._heard = True
        return self.sweep.replay(rounds)

    async def watch(self) -> None:
        """End a sweep its handheld has left quiet for the idle time after reading (not while
        it is down); abandon one whose handheld has been down for the longest wait, or one
        begun by command no handheld claimed within it (one down then is not to blame)."""
        while True:
            await asyncio.sleep(min(1.0, self._idle_end / 4, self._handheld_wait / 4))
            if self.sweep is None:
                continue
            now = self._clock.monotonic()
            down = self._handhelds_down.get(self._sweeper)  # only its handheld's: none yet, ''
            if down is not None:
                if now - down >= self._handheld_wait:
                    self.end(
                        abandoned=f"handheld {self._sweeper} down for more than "
                        f"{self._handheld_wait:g} s; sweep the shelf again"
                    )
            elif self._heard and now - self._last_read >= self._idle_end:
                self.end()
            elif not self._heard and now - self._started_at >= self._handheld_wait:
                self.end(abandoned=self._unclaimed(self.sweep.shelf, self._handheld_wait))

    def _unclaimed(self, shelf: str, waited: float | None = None) -> str:
        """Why a sweep begun by command ends unclaimed (after `waited` seconds, if it did)."""
        within = "" if waited is None else f" in the {waited:g} s since it started"
        reads = self._unclaimed_reads
        seen = f"{reads} pack read{'s' * (reads != 1)} meanwhile, not counted" if reads else ""
        return (
            f"no location tag of shelf {shelf} was read{within}, and a count needs them: check "
            f"they are on the shelf and read ({seen or 'no pack read meanwhile either'})"
        )
