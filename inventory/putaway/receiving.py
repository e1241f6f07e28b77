"""The receiving desk: a pack scanned at a scanner with role `receiving` is booked at once into
the scanner's slot (one `receive` movement), without lights to follow, once it has passed the
checks a pack scanned in for put-away passes (inventory.putaway.checks). A pack that must not
reach the shelves (an unknown product, expired or too short-dated, recalled, a serial on a
shelf already) is not booked: the desk's slot blinks red and the pharmacist is alarmed, as at
a put-away scanner. There is no session to end here, so those alarms stay until a pharmacist
has looked at them. Nor is a pack lit at a put-away desk, waiting to be put (it is booked where
it is lit, once put): red, without an alarm."""

from __future__ import annotations

from inventory.codes.barcodes import PackScan
from inventory.ledger.movements import Movement, MovementKind
from inventory.picking.outcome import Outcome
from inventory.putaway.board import PutawayBoard
from inventory.putaway.checks import Reason, Refusal, refusal
from inventory.putaway.ledger_access import PutawayLedger


def receive(
    keeper: PutawayLedger, board: PutawayBoard, scan: PackScan, slot: str, actor: str, scanner: str
) -> Outcome:
    """A pack scanned at `scanner`: booked into `slot`, or refused with red there."""
    found = refusal(
        scan, keeper.products, keeper.index, keeper.calendar.today(), keeper.picks.recalled
    ) or _lit(board, scan)
    expiry = scan.expiry.isoformat() if scan.expiry else None
    if found is None:
        movement = Movement(
            MovementKind.RECEIVE,
            scan.gtin,
            serial=scan.serial,
            batch=scan.batch,
            expiry=expiry,
            to_slot=slot,
            actor=actor,
            reason=f"scanned in at {scanner}",
        )
        return Outcome([keeper.commit([movement])])
    if found.reason is Reason.DUPLICATE_SERIAL and found.slot == slot:
        # Booked in here a moment ago and scanned again (a clerk's second try, a double read):
        # nothing to book, nothing to suspect.
        again = f"{scanner}: GTIN {scan.gtin} serial {scan.serial} is booked in {slot} already"
        return Outcome(notes=[again])
    detail: dict[str, object] = {
        "gtin": scan.gtin,
        "batch": scan.batch,
        "expiry": expiry,
        "serial": scan.serial or None,
        "reason": str(found.reason),
        "why": found.why,
        "scanner": scanner,
        "delivery_id": None,
        "slot": slot,
    }
    out = Outcome(board.alarm(scan, found, detail))
    board.show_red(slot)
    refused = f"{scanner} refused GTIN {scan.gtin}, {found.why}"
    out.putaway_mistakes.append(f"MISTAKE at {slot}: {refused}")
    out.lights_changed = True
    return out


def _lit(board: PutawayBoard, scan: PackScan) -> Refusal | None:
    """`already scanned` when the pack, by its serial, waits to be put at a put-away desk: it
    is booked where it is lit, once put there."""
    found = board.waiting_with(scan.gtin, scan.serial) if scan.serial else None
    if found is None:
        return None
    session, pack = found
    return Refusal(
        Reason.ALREADY_SCANNED,
        f"serial {scan.serial} is waiting to be put away in {pack.slot} (delivery "
        f"{session.delivery_id} at {session.scanner}): lay it there and confirm it",
    )
