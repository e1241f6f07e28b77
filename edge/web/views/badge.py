"""Logging in by a badge tap (edge.web.badge_login): asking for it (a form with the CSRF
token, from an address in web.badge_login_from), the page that says "tap your badge now", and
the wait its script runs, which logs the browser in (a new session) once the tap came."""

from __future__ import annotations

from ipaddress import ip_address
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from edge.web.badge_login import BadgeLoginRefused
from edge.web.pages import back_to, finish, form_of, refuse, render, session_of, state_of
from edge.web.sessions import csrf_ok


def may_ask(request: Request) -> str:
    """ "" when this browser may log in by a badge; otherwise why not."""
    state = state_of(request)
    if not state.config.badges.enabled:
        return "this gateway has no badge reader configured ([badges] enabled)"
    client = request.client.host if request.client else ""
    try:
        address = ip_address(client)
    except ValueError:
        address = None
    if address is None or not any(address in n for n in state.config.web.badge_login_from):
        return (
            f"badge login is not open to this screen ({client or 'unknown address'}); "
            "web.badge_login_from lists the screens beside the reader"
        )
    return ""


async def ask(request: Request) -> Response:
    form = await form_of(request)
    session = session_of(request)
    if not csrf_ok(session, form.get("csrf")):
        return refuse(request, 403, "the form's security token is missing or old; reload")
    problem = may_ask(request)
    if problem:
        return refuse(request, 403, problem)
    state_of(request).badge_logins.ask(session.sid)
    target = back_to(request, {"next": form.get("next", "/")})
    return finish(request, RedirectResponse(f"/login/badge?next={quote(target)}", status_code=303))


async def tap_now(request: Request) -> Response:
    logins = state_of(request).badge_logins
    waiting = logins.waiting(session_of(request).sid)
    return render(
        request,
        "badge.html",
        waiting=waiting,
        seconds=round(logins.window),
        next=back_to(request, {"next": request.query_params.get("next", "/")}),
    )


async def wait(request: Request) -> Response:
    """Answers once the tap came (the browser logged in) or the wait ended: JSON for the
    page's script, {"next": path} or {"problem": why}."""
    form = await form_of(request)
    session = session_of(request)
    if not csrf_ok(session, form.get("csrf")):
        return JSONResponse({"problem": "the page's security token is old; reload"}, 403)
    state = state_of(request)
    try:
        account = await state.badge_logins.wait(session.sid)
    except BadgeLoginRefused as exc:
        return finish(request, JSONResponse({"problem": str(exc)}, 409))
    request.state.session = state.sessions.log_in(session, account)
    request.state.session.flash.append(f"Logged in as {account.name} by badge.")
    return finish(request, JSONResponse({"next": back_to(request, form)}))


routes = [
    Route("/login/badge", ask, methods=["POST"]),
    Route("/login/badge", tap_now),
    Route("/login/badge/wait", wait, methods=["POST"]),
]
