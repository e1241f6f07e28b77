"""Expiring stock on the site's calendar: what expires in the next N days, what has expired,
and what is quarantined."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from edge.web.pages import render, shared_live_part, state_of
from edge.web.reading import EXPIRING_ROWS, days_left, expiring

DEFAULT_DAYS = 30
MAX_DAYS = 3650


async def expiring_view(request: Request) -> Response:
    state = state_of(request)
    raw = request.query_params.get("days", str(DEFAULT_DAYS))
    days = int(raw) if raw.isdigit() else DEFAULT_DAYS
    days = min(days, MAX_DAYS)
    today = state.today()
    rows = await state.reader.ask(lambda db: expiring(db, days, today))
    expired, held, soon = [], [], []
    for row in rows:
        row["days_left"] = left = days_left(row["expiry"], today)
        if left is not None and left < 0:
            expired.append(row)
        elif row["status"] != "available":
            held.append(row)
        else:
            soon.append(row)
    return render(
        request,
        "expiring.html",
        days=days,
        today=today,
        expired=expired,
        held=held,
        soon=soon,
        more=len(rows) == EXPIRING_ROWS,
    )


routes = [Route("/expiring", shared_live_part(expiring_view))]
