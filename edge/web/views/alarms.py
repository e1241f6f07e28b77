"""Alarms: the live ones (raised or acknowledged), and acknowledging one by name."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from edge.web.accounts import Account
from edge.web.pages import action, render, shared_live_part, state_of
from edge.web.reading import live_alarms


async def alarms(request: Request) -> Response:
    rows = await state_of(request).reader.ask(live_alarms)
    return render(request, "alarms.html", alarms=rows)


async def acknowledge(request: Request, form: dict[str, str], account: Account) -> str:
    alarm_id = request.path_params["alarm_id"]
    await state_of(request).command(
        "alarm-ack", {"alarm_id": alarm_id, "by": account.name}, alarm_id
    )
    return f"Alarm {alarm_id} acknowledged by {account.name}."


routes = [
    Route("/alarms", shared_live_part(alarms)),
    Route("/alarms/{alarm_id}/ack", action(acknowledge), methods=["POST"]),
]
