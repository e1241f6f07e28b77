"""Pick lists: the open ones with each line's progress (live), the last ended ones, and
cancelling a list (logged-in staff; the cancel names them)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from edge.web.pages import item_route, render, shared_live_part, state_of
from edge.web.reading import pick_lists


async def picks(request: Request) -> Response:
    state = state_of(request)
    open_lists, ended = await state.reader.ask(pick_lists)
    colours = state.config.picking.colours
    shown = [
        {
            "pick_id": p.pick_id,
            "picker": p.picker,
            "colour": colours[p.picker_no % len(colours)],
            "lines": p.summary(),
            "picked": sum(line.picked for line in p.lines),
            "quantity": sum(line.quantity for line in p.lines),
        }
        for p in open_lists
    ]
    return render(request, "picks.html", lists=shown, ended=ended)


routes = [
    Route("/picks", shared_live_part(picks)),
    item_route(
        "/picks/{pick_id:path}/cancel", "pick-cancel", "Pick list {item} cancelled by {by}."
    ),
]
