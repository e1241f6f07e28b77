"""Held (quarantined) packs leaving the shelf and coming back: why a line is held, the
`write_off` movement that takes one off the shelf (never a pick: a held pack is not handed
out), and a tagged pack held again when it is back on a shelf after its batch was recalled or
expired.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from inventory.alarms.book import AlarmBook
from inventory.ledger.commit import Commit
from inventory.ledger.movements import Movement, MovementKind, StockStatus
from inventory.picking.ledger_access import DeskLedger
from inventory.stock.expiry_alarms import HELD_BY, follow_batch
from inventory.stock.slot_index import StockLine

Recalled = Collection[tuple[str, str]]  # (GTIN, batch) of every recalled batch


def held_why(line: StockLine, today: date, recalled: Recalled) -> str:
    """Why a quarantined line is held, in words: expired (on the site's `today`), recalled,
    both, or else held back (by a person, a refused delivery)."""
    why = []
    if line.expiry is not None and line.expiry < today.isoformat():
        why.append("expired")
    if (line.gtin, line.batch) in recalled:
        why.append("recalled")
    return " and ".join(why) or "held back"


def taken_off(line: StockLine, why: str, actor: str, how: str, quantity: int = 1) -> Movement:
    """`quantity` packs of a quarantined line written off: taken off the shelf (`how`)."""
    reason = f"taken off the shelf while quarantined ({why}): {how}"
    return line.leaving(MovementKind.WRITE_OFF, None, actor, reason, quantity=quantity)


def off_the_shelf(line: StockLine, how: str, today: date, recalled: Recalled) -> Movement:
    """A tagged pack gone from its slot, not for a pick list: picked when it was available;
    written off when it was quarantined (it was never to be handed out)."""
    if line.status is StockStatus.AVAILABLE:
        return line.leaving(MovementKind.PICK, None, "system", how)
    return taken_off(line, held_why(line, today, recalled), "system", how)


def hold_again(keeper: DeskLedger, alarms: AlarmBook, recalled: Recalled, epc: str) -> list[Commit]:
    """A tagged pack back on a shelf (booked back available) whose batch was recalled, or
    that has expired (off the shelf then, or written off as it left): held where it lies now,
    and an expired one raises (or joins) its batch's expired alarm. Nothing for any other."""
    line = keeper.line_of_epc(epc)
    if line is None or line.status is not StockStatus.AVAILABLE:
        return []
    if (line.gtin, line.batch) in recalled:
        return [keeper.commit([line.held("system", "recall: back on the shelf")])]
    today = keeper.calendar.today
    if line.expiry is None or line.expiry >= today().isoformat():
        return []
    with keeper.group():
        held = keeper.commit([line.held(*HELD_BY)])
        raised = follow_batch(alarms, keeper.index, line.gtin, line.batch, today, None, True)
    return [held, Commit(alarms=tuple(raised), messages=len(raised))]
