"""The demo's scenario: the centre sends two prescriptions, a scripted pharmacist pair picks
them at the shelf, one mistake is caught, stock falls to reorder points and the centre's clerk
answers the requests (edge.demo.clerk), the shelf is counted with the handheld
(edge.demo.sweep), and the delivery that answers the amoxicillin request is put away by the
lights (edge.demo.delivery).

Every step waits for what it must cause, observed from outside the daemon where a person would
see it: the LEDs in the shelf controller's registers, the answers the centre receives on
`cmd-result`, the requests it receives, and the ledger file. The short pauses are only for the
person watching.
"""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from functools import partial
from pathlib import Path

from drivers.modbus.profile import Colour, Mode
from edge.daemon import ledger_questions as ask
from edge.demo.clerk import order_requests
from edge.demo.delivery import put_away_delivery
from edge.demo.stage import PAUSE, Acts, until
from edge.demo.stock import (
    AMOXICILLIN,
    ANA,
    BEN,
    FIRST_LIST,
    METFORMIN_BATCH,
    MISTAKE_SECONDS,
    OMEPRAZOLE_EARLY,
    OMEPRAZOLE_EXPIRED,
    OMEPRAZOLE_LATE,
    PACKS_PER_LIST,
    PRESCRIPTIONS,
    SECOND_LIST,
    TAGGED,
    slot_index,
)
from edge.demo.sweep import count_shelf
from edge.lights.light_plan import HELD_LIGHT
from inventory.picking.lists import PickList


def pick_movements(db: Path) -> list[tuple[str, str, str, str]]:
    """(reference, slot, batch, serial) of every pick in the ledger file, oldest first."""
    with closing(sqlite3.connect(db)) as ledger:
        rows = ledger.execute(
            "SELECT reference, coalesce(from_slot, ''), batch, serial FROM movements"
            " WHERE kind = 'pick' ORDER BY id"
        )
        return [(str(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]


def movement_count(db: Path) -> int:
    with closing(sqlite3.connect(db)) as ledger:
        return int(ledger.execute("SELECT count(*) FROM movements").fetchone()[0])


class Scenario(Acts):
    """The scripted story; `run()` is True when every step was observed."""

    def progress(self, pick_id: str) -> int:
        return len(self.s.centre.of(pick_id, "progress"))

    def picked(self, pick_id: str, packs: int) -> bool:
        return self.progress(pick_id) == packs

    async def press(self, who: str, slot: str, what: str) -> None:
        self.act(who, f"takes {what} from {slot} and presses its button")
        await self.s.shelf.press(slot_index(slot))

    async def own_colour(self, who: str, slot: str, pick_id: str) -> bool:
        """Wait until `slot`, wanted by several lists, shows `who`'s colour and a press there
        counts for her list: it shows one list at a time, the older first, and a press just
        after it changed to the next is still the one before's."""
        lists = {p.pick_id: p for p in await self.s.gateway.ledger.ask(ask.open_pick_lists)}
        names = self.s.gateway.config.picking.colours
        picker_no = lists[pick_id].picker_no
        colour = Colour[names[picker_no % len(names)].upper()]
        self.act(who, f"waits for {slot} to show {colour.name.lower()}, the colour of {pick_id}")
        lights = self.s.gateway.lights

        async def hers() -> bool:
            shown = (await self.light(slot)).colour
            return shown is colour and lights.shown_picker(slot) == picker_no

        return await self.check(f"{slot} shows {colour.name.lower()} for {who}", hers)

    async def run(self) -> bool:
        s = self.s
        steps = (
            self._stocked,
            self._lists_sent,
            self._lists_lit,
            self._mistake,
            self._right_packs,
            self._shortage,
            self._ledger,
            partial(order_requests, self),
            partial(count_shelf, self),
            partial(put_away_delivery, self),
        )
        for step in steps:
            if not await step():
                return False
        s.view.step("lists done, shelf counted, amoxicillin reordered, delivered, put away")
        await s.view.snapshot("the end")
        await asyncio.sleep(PAUSE)  # the last picture stays a moment on a live screen
        return True

    async def _stocked(self) -> bool:
        s = self.s
        await until(s.gateway.ready.is_set, s.deadline)
        total = sum(t.count for t in TAGGED)
        s.view.step("the daemon puts away the tagged packs it sees")
        watched = {t.slot for t in TAGGED}

        async def put_away() -> bool:
            placed = await s.gateway.ledger.ask(ask.placed_epcs)
            return sum(slot in watched for slot in placed.values()) >= total

        return await self.check(
            f"the daemon put away all {total} tagged packs on antennas 1-4 (A-01..A-04)", put_away
        )

    async def _lists_sent(self) -> bool:
        s = self.s
        await asyncio.sleep(PAUSE)
        self.act("centre", f"sends {FIRST_LIST} for {ANA} and {SECOND_LIST} for {BEN} on cmd/pick")
        for body in PRESCRIPTIONS:
            await s.centre.send("pick", body)
        return await self.check(
            "the gateway accepted both lists",
            lambda: all(s.centre.of(p, "accepted") for p in (FIRST_LIST, SECOND_LIST)),
        )

    async def _lists_lit(self) -> bool:
        s = self.s
        lists = await s.gateway.ledger.ask(ask.open_pick_lists)
        colours = [Colour[name.upper()] for name in s.gateway.config.picking.colours]
        wanted = _wanted(lists, colours)
        shown = ", ".join(f"{slot} {sorted(c.name.lower() for c in w)}" for slot, w in wanted)
        if not await self.check(
            f"lists lit in the registers ({shown}); expired {OMEPRAZOLE_EXPIRED.slot} held "
            "(red, slow blink)",
            lambda: self._lit_as_wanted(dict(wanted)),
        ):
            return False
        shared = [slot for slot, w in wanted if len(w) > 1]
        first = next(p for p in lists if p.pick_id == FIRST_LIST)
        colour = colours[first.picker_no % len(colours)]

        async def first_alone() -> bool:
            return all([(await self.light(slot)).colour is colour for slot in shared])

        if not await self.check(
            f"{', '.join(shared) or 'a slot'}, wanted by both lists, shows {FIRST_LIST}'s "
            f"{colour.name.lower()} alone (the older list) until its packs there are taken",
            first_alone if shared else lambda: False,
        ):
            return False
        await s.view.snapshot("both pick lists lit")
        await asyncio.sleep(PAUSE)
        return True

    async def _lit_as_wanted(self, wanted: dict[str, set[Colour]]) -> bool:
        for slot, colours in wanted.items():
            light = await self.light(slot)
            if not (light.on and light.colour in colours and light.number > 0):
                return False
        # The expired batch is never offered: its slot shows it held back, not a pick.
        return await self.light(OMEPRAZOLE_EXPIRED.slot) == HELD_LIGHT

    async def _mistake(self) -> bool:
        s, expired = self.s, OMEPRAZOLE_EXPIRED
        await asyncio.sleep(PAUSE)
        before = movement_count(s.db)
        self.act(
            ANA,
            f"reaches into {expired.slot} and scans a pack of batch {expired.batch}: "
            f"it expired on {expired.expiry(s.today)}",
        )
        s.scanner.scan(expired.scan_code(s.today))
        if not await self.check(
            f"{expired.slot} blinks red, fast", lambda: self._red(expired.slot)
        ):
            return False
        if not await self.check(
            f"the centre received the 'mistake' (expired) for {FIRST_LIST}",
            lambda: any(a.get("reason") == "expired" for a in s.centre.of(FIRST_LIST, "mistake")),
        ):
            return False
        if not await self.check(
            "nothing booked for the mistaken pack (ledger unchanged)",
            lambda: movement_count(s.db) == before,
        ):
            return False
        await s.view.snapshot("the mistake is caught")
        await asyncio.sleep(PAUSE)
        return True

    async def _red(self, slot: str) -> bool:
        light = await self.light(slot)
        return light.on and light.colour is Colour.RED and light.mode is Mode.FAST_BLINK

    async def _right_packs(self) -> bool:
        s, expired = self.s, OMEPRAZOLE_EXPIRED
        early, late, metformin = OMEPRAZOLE_EARLY, OMEPRAZOLE_LATE, METFORMIN_BATCH
        self.act(BEN, f"meanwhile takes metformin from {metformin.slot} and scans its DataMatrix")
        s.scanner.scan(metformin.scan_code(s.today))
        if not await self.check(
            f"{SECOND_LIST}: 1 picked (by scan)", lambda: self.progress(SECOND_LIST) == 1
        ):
            return False
        await asyncio.sleep(PAUSE)
        self.act(ANA, f"puts the expired pack back in {expired.slot}")
        if not await self.check(
            f"{expired.slot} stops blinking red after its {MISTAKE_SECONDS:g} s",
            lambda: self._not_red(expired.slot),
        ):
            return False
        # (who, slot, list, packs of that list picked after the press, what, slot shared)
        presses = (
            (ANA, early.slot, FIRST_LIST, 1, f"omeprazole {early.batch} (earliest expiry)", False),
            (ANA, early.slot, FIRST_LIST, 2, f"a second pack of {early.batch}", False),
            (ANA, late.slot, FIRST_LIST, 3, f"omeprazole {late.batch}", True),
            (BEN, late.slot, SECOND_LIST, 2, f"omeprazole {late.batch}", True),
        )
        for who, slot, pick_id, picked, what, shared in presses:
            await asyncio.sleep(PAUSE)
            if shared and not await self.own_colour(who, slot, pick_id):
                return False
            await self.press(who, slot, what)
            if not await self.check(
                f"{pick_id}: {picked} picked", partial(self.picked, pick_id, picked)
            ):
                return False
        if not await self.check(
            f"{SECOND_LIST} done", lambda: bool(s.centre.of(SECOND_LIST, "done"))
        ):
            return False
        await asyncio.sleep(PAUSE)
        amoxicillin = TAGGED[0]
        for serial in (1, 2):
            self.act(ANA, f"takes tagged amoxicillin serial {serial} from {amoxicillin.slot}")
            s.reader.remove(amoxicillin.epc(serial))
            if not await self.check(
                f"{FIRST_LIST}: {3 + serial} picked (its tag left the antenna)",
                partial(self.picked, FIRST_LIST, 3 + serial),
            ):
                return False
            await asyncio.sleep(PAUSE)
        return await self.check(
            f"{FIRST_LIST} done",
            lambda: bool(s.centre.of(FIRST_LIST, "done")),
        )

    async def _not_red(self, slot: str) -> bool:
        return not await self._red(slot)

    async def _shortage(self) -> bool:
        s, slot = self.s, TAGGED[0].slot
        if not await self.check(
            f"{AMOXICILLIN.name} at its reorder point: {slot} amber in the registers",
            lambda: self._amber(slot),
        ):
            return False
        return await self.check(
            "the centre received the procurement request",
            lambda: any(r.body.get("gtin") == AMOXICILLIN.gtin for r in s.centre.requests),
        )

    async def _amber(self, slot: str) -> bool:
        light = await self.light(slot)
        return light.on and light.colour is Colour.AMBER

    async def _ledger(self) -> bool:
        s = self.s

        def booked() -> bool:
            picks = pick_movements(s.db)
            counts = {p: sum(1 for m in picks if m[0] == p) for p in PACKS_PER_LIST}
            return counts == PACKS_PER_LIST and all(m[2] != OMEPRAZOLE_EXPIRED.batch for m in picks)

        wanted = ", ".join(f"{n} for {p}" for p, n in PACKS_PER_LIST.items())
        return await self.check(
            f"the ledger holds the picks ({wanted}), none of batch {OMEPRAZOLE_EXPIRED.batch}",
            booked,
        )


def _wanted(lists: list[PickList], colours: list[Colour]) -> list[tuple[str, set[Colour]]]:
    """Slot -> the colours of the lists that want packs from it, in slot order."""
    wanted: dict[str, set[Colour]] = {}
    for pick in lists:
        for line in pick.lines:
            for a in line.allocations:
                if a.remaining > 0:
                    wanted.setdefault(a.slot, set()).add(colours[pick.picker_no % len(colours)])
    return sorted(wanted.items(), key=lambda item: slot_index(item[0]))
