"""Deliveries being put away: each open one in its colour, what its notice announced and what
was put, the packs waiting to be put (and the slot lit for each), the packs refused with what
the clerk is to do with them (or where one laid on a shelf all the same is held); the last
ended ones; ending a delivery (logged-in staff)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from edge.web.pages import item_route, render, shared_live_part, state_of
from edge.web.reading import deliveries as read_deliveries
from inventory.putaway.sessions import PutawaySession, RefusedPack

# What the clerk at the desk does with a pack refused for each reason (the gateway's reason
# names, docs/putaway.md); a reason not named here is shown as the gateway gave it.
TO_DO = {
    "unknown product": "Not a product of these shelves: set it aside and tell the pharmacist.",
    "expired": "Expired: set it aside with the delivery note; it goes back.",
    "short shelf life": "Expires too soon for these shelves: set it aside with the delivery "
    "note; it goes back.",
    "recalled": "Its batch is recalled: set it aside and tell the pharmacist.",
    "duplicate serial": "A pack with this serial is on the shelves already: set it aside and "
    "tell the pharmacist.",
    "no room": "No slot has room for it: keep it in the tote and tell the pharmacist.",
    "no colour free": "Every colour is in use: scan it again once a pick list or a delivery "
    "has ended.",
}


def to_do(pack: RefusedPack) -> str:
    """What to do with a refused pack, in the clerk's words: as its reason says, unless it was
    laid on a shelf all the same and is held there."""
    if pack.held_in:
        return f"Held quarantined in {pack.held_in}: a pharmacist takes it off."
    reason = pack.reason
    return TO_DO.get(reason, f"Refused ({reason}): set it aside and tell the pharmacist.")


def standing(session: PutawaySession) -> str:
    """Where an open delivery stands, in words."""
    if session.paused:
        return "paused: waits for the rest of its packs"
    if session.finishing:
        return "put in full: ends done unless a pack more of it is scanned"
    if not session.at_work:
        return "announced: waits for its first pack"
    return f"being put away at {session.scanner}" if session.scanner else "being put away"


def shown(session: PutawaySession, colours: Sequence[str]) -> dict[str, Any]:
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
        "refused": [{"pack": r, "to_do": to_do(r)} for r in session.refusals],
    }


async def deliveries(request: Request) -> Response:
    state = state_of(request)
    open_ones, ended = await state.reader.ask(read_deliveries)
    colours = state.config.picking.colours
    return render(
        request,
        "deliveries.html",
        deliveries=[shown(s, colours) for s in open_ones],
        ended=[{**shown(e["session"], colours), "updated_at": e["updated_at"]} for e in ended],
    )


routes = [
    Route("/deliveries", shared_live_part(deliveries)),
    item_route(
        "/deliveries/{delivery_id:path}/end",
        "putaway-end",
        "Delivery {item} ended by {by}: what was not put is reported to the centre.",
    ),
]
