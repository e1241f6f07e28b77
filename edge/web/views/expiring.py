"""Expiring stock on the site's calendar: what expires in the next N days, what has expired,
and what is quarantined."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from edge.web.pages import render, shared_live_part, state_of
from edge.web.reading import days_left, expiring

DEFAULT_DAYS = 30
MAX_DAYS = 3650


def days_asked(raw: str) -> tuple[int, str]:
    """(the days to show, a problem in words) for the form's `days`."""
    text = raw.strip()
    # What int() reads (0-9, and the digits of other scripts), and short: int() refuses a
    # number of thousands of digits with an error the page would answer with a 500.
    if not text.isdecimal() or len(text) > 9:
        return DEFAULT_DAYS, (
            f"days {raw!r} is not a whole number from 0 to {MAX_DAYS}; showing {DEFAULT_DAYS}"
        )
    if int(text) > MAX_DAYS:
        return MAX_DAYS, f"{MAX_DAYS} days at most (ten years) are shown"
    return int(text), ""


async def expiring_view(request: Request) -> Response:
    state = state_of(request)
    days, problem = days_asked(request.query_params.get("days", str(DEFAULT_DAYS)))
    today = state.today()
    rows, more = await state.reader.ask(lambda db: expiring(db, days, today))
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
        problem=problem,
        today=today,
        expired=expired,
        held=held,
        soon=soon,
        shown=len(rows),
        more=more,
    )


routes = [Route("/expiring", shared_live_part(expiring_view))]
