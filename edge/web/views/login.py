"""Logging in and out. Failed attempts are limited per account and per client address; a
login gets a new session id (a planted one is worth nothing); its form sent again at once
("Log in" tapped twice) does not undo it."""

from __future__ import annotations

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from edge.web.pages import (
    account_of,
    back_to,
    finish,
    form_of,
    from_another_site,
    refuse,
    render,
    session_of,
    state_of,
)
from edge.web.sessions import COOKIE, csrf_ok
from edge.web.views.badge import may_ask


def login_page(request: Request, next_path: str, problem: str = "", status: int = 200) -> Response:
    """The login form (with "Log in with your badge" where this screen may)."""
    badges = may_ask(request) == ""
    request.state.back = back_to(request, {"next": next_path})  # its own "Log in" link too
    return render(
        request, "login.html", status=status, next=next_path, problem=problem, badges=badges
    )


async def login_form(request: Request) -> Response:
    return login_page(request, request.query_params.get("next", "/"))


async def login(request: Request) -> Response:
    state = state_of(request)
    form = await form_of(request)
    session = session_of(request)
    user = form.get("user", "").strip().lower()
    token = form.get("csrf")
    if not csrf_ok(session, token):
        # "Log in" tapped twice: the second sending must not undo what the first did.
        again = state.sessions.login_sent_again(session, request.cookies.get(COOKIE), token)
        account = account_of(request)
        if again and account is not None and account.user == user:
            return finish(request, RedirectResponse(back_to(request, form), status_code=303))
        if not again or account is not None:
            return refuse(request, 403, "the form's security token is missing or old; reload")
    client = request.client.host if request.client else "?"
    keys = (f"user:{user}", f"address:{client}")
    wait = state.limiter.attempt(*keys)  # counted as failed until it succeeds
    if wait > 0:
        response = login_page(
            request,
            form.get("next", "/"),
            f"Too many failed logins; try again in {wait:.0f} s.",
            429,
        )
        response.headers["retry-after"] = str(int(wait) + 1)
        return response
    account = await to_thread.run_sync(lambda: state.accounts.check(user, form.get("password", "")))
    if account is None:
        return login_page(request, form.get("next", "/"), "Wrong user name or password.", 401)
    state.limiter.succeeded(*keys)
    request.state.session = state.sessions.log_in(session, account)
    request.state.session.flash.append(f"Logged in as {account.name}.")
    return finish(request, RedirectResponse(back_to(request, form), status_code=303))


async def logout(request: Request) -> Response:
    """Ends the browser's login whatever token its form carries: a window drawn before the
    person logged in again holds an older one, and a logout refused for it would leave the
    login open behind a click that seemed to work. Another site cannot send it: its form
    is refused by its Origin, and the SameSite=Strict cookie does not go with it."""
    if from_another_site(request):
        return refuse(request, 403, "this form was sent from another site")
    if account_of(request) is not None:
        sessions = state_of(request).sessions
        sessions.end(session_of(request))
        request.state.session = sessions.new()
        request.state.session.flash.append("Logged out.")
    return finish(request, RedirectResponse("/shelves", status_code=303))


routes = [
    Route("/login", login_form),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
