"""`cmd/write-off`: quarantined packs a person took off the shelf (untagged packs, slots no
reader watches; a tagged pack a reader sees leave is written off by itself,
`inventory.stock.held_packs`). Each `write_off` movement says that the packs were taken off the
shelf while quarantined and why they were held (expired, recalled, held back); once a batch's
last pack has left, its expiry alarm clears with it (`inventory.stock.expiry_alarms`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from inventory.alarms.lifecycle import batch_subject
from inventory.ledger.movements import Movement, StockStatus
from inventory.picking.outcome import Outcome
from inventory.stock.held_packs import held_why, refused_pack_gone, taken_off
from inventory.stock.slot_index import StockLine

if TYPE_CHECKING:
    from inventory.changes import WriteOff
    from inventory.keeper import InventoryKeeper

COMMAND = "write-off"


def write_off(keeper: InventoryKeeper, command: WriteOff) -> Outcome:
    """Packs of a batch a person took off the shelf in a slot, written off by them and
    answered `written_off` (or refused, with what to do instead): only quarantined ones; the
    tagged ones a reader saw leave first, then counted packs, then tagged ones by serial."""
    gtin, batch, slot = command.gtin, command.batch, command.slot
    answer_id, what = batch_subject(gtin, batch), f"GTIN {gtin} batch {batch or '-'}"
    lines = [
        line for line in keeper.index.contents(slot) if (line.gtin, line.batch) == (gtin, batch)
    ]
    gone = keeper.shelf.gone  # tagged packs a reader saw leave: the ones taken, first
    held = sorted(
        (line for line in lines if line.status is StockStatus.QUARANTINED),
        key=lambda line: (line.epc not in gone, line.serial != "", line.serial),
    )
    there = sum(line.quantity for line in held)
    wanted = there if command.quantity is None else command.quantity
    if not lines:
        error = (
            f"slot {slot} holds no packs of {what}: nothing to write off there (the page's "
            "Expiring view and `rxedge expiring` show where held packs lie)"
        )
    elif not held:
        error = (
            f"the {sum(line.quantity for line in lines)} pack(s) of {what} in {slot} are "
            "available, not quarantined: only quarantined stock (expired, recalled, held back) "
            "is written off; a pack handed out is booked as a pick"
        )
    elif wanted > there:
        error = (
            f"slot {slot} holds {there} quarantined pack(s) of {what}, not {wanted}: "
            f"write off {there} or fewer"
        )
    else:
        error = ""
    if error:
        return keeper.picks.refuse(COMMAND, answer_id, error)
    today, recalled = keeper.calendar.today(), keeper.picks.recalled
    how = "by hand" + (f" ({command.note})" if command.note else "")
    movements: list[Movement] = []
    taken_lines: list[StockLine] = []
    whys: set[str] = set()
    left = wanted
    for line in held:
        if not left:
            break
        why, taken = held_why(line, today, recalled), min(left, line.quantity)
        movements.append(taken_off(line, why, command.by, how, taken))
        taken_lines.append(line)
        if line.epc is not None:
            gone.taken(line.epc)
        whys.add(why)
        left -= taken
    said = ", ".join(sorted(whys))
    with keeper.group():
        commit = keeper.commit(movements)
        ended = [refused_pack_gone(keeper.alarms, line) for line in taken_lines]
        answer = keeper.send_result(
            COMMAND,
            answer_id,
            "written_off",
            gtin=gtin,
            batch=batch,
            slot=slot,
            quantity=wanted,
            left=there - wanted,
            why=said,
            by=command.by,
        )
    note = (
        f"{wanted} pack(s) of {what} ({said}) taken off the shelf in {slot} and written off "
        f"by {command.by}; {there - wanted} held there still"
    )
    booked = [m.epc for m in movements if m.epc]  # no reader is to see these leave again
    commits = [commit, *ended, answer]
    return Outcome(commits=commits, notes=[note], booked_epcs=booked, lights_changed=True)
