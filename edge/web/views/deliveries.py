"""Deliveries being put away: each open one in its colour, what its notice announced and what
was put, the packs waiting to be put (and the slot lit for each), the packs refused with what
the clerk is to do with them (or where one laid on a shelf all the same is held); the last
ended ones, with the packs each left waiting (lit, never confirmed) and where to look for
them; ending a delivery (logged-in staff)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from edge.web.pages import item_route, render, shared_live_part, state_of
from edge.web.reading import Rows, lying
from edge.web.reading import deliveries as read_deliveries
from inventory.putaway.sessions import PutawaySession, RefusedPack, WaitingPack

# What the clerk at the desk does with a pack refused for each reason (the gateway's reason
# names, docs/putaway.md); a reason not named here is shown as the gateway gave it.
TO_DO = {
    "unknown product": "Not a product of these shelves: set it aside and tell the pharmacist.",
    "no expiry": "Its code has no expiry date: scan its DataMatrix; if that has none either, "
    "set it aside and tell the pharmacist.",
    "no batch": "Its code has no batch: scan its DataMatrix; if that has none either, set it "
    "aside and tell the pharmacist.",
    "expired": "Expired: set it aside with the delivery note; it goes back.",
    "short shelf life": "Expires too soon for these shelves: set it aside with the delivery "
    "note; it goes back.",
    "recalled": "Its batch is recalled: set it aside and tell the pharmacist.",
    "duplicate serial": "A pack with this serial is on the shelves already: set it aside and "
    "tell the pharmacist.",
    "no room": "No slot has room for it: keep it in the tote and tell the pharmacist.",
    "no colour free": "Every colour is in use: scan it again once a pick list or a delivery "
    "has ended.",
    "slot busy": "Its slot is lit for another desk's packs: keep it in the tote and scan it "
    "again once they are put.",
}


def to_do(pack: RefusedPack, lies_in: str | None = None) -> str:
    """What to do with a refused pack, in the clerk's words: as its reason says, unless it was
    laid on a shelf all the same and is held there (`lies_in`: the slot it lies in now, "" once
    it is off the shelves again; None: where it was laid)."""
    reason = pack.reason
    said = TO_DO.get(reason, f"Refused ({reason}): set it aside and tell the pharmacist.")
    if not pack.held_in:
        return said
    where = pack.held_in if lies_in is None else lies_in
    if where:
        return f"Held quarantined in {where}: a pharmacist takes it off."
    return f"Taken off {pack.held_in} and written off. {said}"


def standing(session: PutawaySession) -> str:
    """Where an open delivery stands, in words."""
    if session.paused:
        return "paused: waits for the rest of its packs"
    if session.finishing:
        return "put in full: ends done unless a pack more of it is scanned"
    if not session.at_work:
        return "announced: waits for its first pack"
    return f"being put away at {session.scanner}" if session.scanner else "being put away"


def shown(
    session: PutawaySession,
    colours: Sequence[str],
    lies: Mapping[tuple[str, str], str] | None = None,
) -> dict[str, Any]:
    """What the view shows of a delivery; `lies`: where refused packs laid on a shelf all the
    same lie now (`reading.lying`)."""
    lies = lies or {}
    return {
        "delivery_id": session.delivery_id,
        "request_id": session.request_id,
        "colour": None if session.number is None else colours[session.number % len(colours)],
        "standing": standing(session),
        "state": str(session.state).replace("_", " "),
        "lines": [line.report() for line in session.lines],
        "put": session.put,
        "missing": session.missing,
        "excess": sum(line.excess for line in session.lines)
        + sum(u.quantity for u in session.unexpected),
        "waiting": session.waiting,
        "let_go": session.let_go,
        "unexpected": session.unexpected,
        "refused": [
            refused(r, lies.get((r.gtin, r.serial)) if r.held_in else None)
            for r in session.refusals
        ],
    }


def refused(pack: RefusedPack, lies_in: str | None) -> dict[str, Any]:
    held_in = pack.held_in if lies_in is None else lies_in
    return {"pack": pack, "held_in": held_in, "to_do": to_do(pack, lies_in)}


def left_waiting(pack: WaitingPack, lies_in: str | None) -> dict[str, Any]:
    """A pack an ended delivery left waiting (lit, never confirmed), and what the clerk does
    with it; `lies_in`: the slot that holds it now ("" none: not booked), None when the ledger
    cannot tell (a pack without a serial)."""
    if lies_in:
        to_do = f"Booked in {lies_in} since: nothing to do."
    else:
        to_do = (
            f"Not booked. Look in {pack.slot}: if it lies there, take it out, scan it again at"
            " the desk and put it where it is lit. Not there: look in the tote."
        )
    return {"pack": pack, "booked_in": lies_in or "", "to_do": to_do}


def ended_shown(
    ended: Mapping[str, Any], colours: Sequence[str], lies: Mapping[tuple[str, str], str]
) -> dict[str, Any]:
    """What the view shows of an ended delivery: its figures as its `closed` answer gave them,
    the packs it left waiting, and of those counted missing, the ones that came (left
    waiting: not short) and the slots they were lit at."""
    session: PutawaySession = ended["session"]
    came = session.missing_left_waiting()
    return {
        **shown(session, colours),
        "updated_at": ended["updated_at"],
        "left": [
            left_waiting(p, lies.get((p.gtin, p.serial)) if p.serial else None)
            for p in session.left_waiting
        ],
        "missing_came": len(came),
        "missing_came_in": sorted({p.slot for p in came}),
    }


def _read(db: sqlite3.Connection) -> tuple[list[PutawaySession], Rows, dict[tuple[str, str], str]]:
    open_ones, ended = read_deliveries(db)
    return open_ones, ended, lying(db, open_ones, ended)


async def deliveries(request: Request) -> Response:
    state = state_of(request)
    open_ones, ended, lies = await state.reader.ask(_read)
    colours = state.config.picking.colours
    return render(
        request,
        "deliveries.html",
        deliveries=[shown(s, colours, lies) for s in open_ones],
        ended=[ended_shown(e, colours, lies) for e in ended],
    )


routes = [
    Route("/deliveries", shared_live_part(deliveries)),
    item_route(
        "/deliveries/{delivery_id:path}/end",
        "putaway-end",
        "Delivery {item} ended by {by}: what was not put is reported to the centre.",
    ),
]
