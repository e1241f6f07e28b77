"""Alarms: the live ones (raised or acknowledged), and acknowledging one by name."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from edge.web.pages import item_route, render, shared_live_part, state_of
from edge.web.reading import live_alarms


async def alarms(request: Request) -> Response:
    rows = await state_of(request).reader.ask(live_alarms)
    return render(request, "alarms.html", alarms=rows)


routes = [
    Route("/alarms", shared_live_part(alarms)),
    item_route("/alarms/{alarm_id}/ack", "alarm-ack", "Alarm {item} acknowledged by {by}."),
]
