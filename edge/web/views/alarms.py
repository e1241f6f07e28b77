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
    """Said as the ledger has it: an alarm someone acknowledged first (a screen not redrawn
    yet) keeps their name, and the person is told so."""
    alarm_id = request.path_params["alarm_id"]
    body = {"alarm_id": alarm_id, "by": account.name}
    answer = await state_of(request).command("alarm-ack", body, alarm_id)
    by = answer.get("by") or account.name
    if by != account.name:
        return f"Alarm {alarm_id} was already acknowledged by {by}; nothing changed."
    return f"Alarm {alarm_id} acknowledged by {by}."


routes = [
    Route("/alarms", shared_live_part(alarms)),
    Route("/alarms/{alarm_id:path}/ack", action(acknowledge), methods=["POST"]),
]
