"""How every view answers: its session (from the cookie, or a new one), the page rendered from
its template (or only its `live` block, which the page's script fetches again when the gateway
says something changed), security headers, and actions that need a login and the form's CSRF
token before anything is sent."""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edge.web.accounts import Account
from edge.web.commands import AlreadySent, CommandRefused, NoAnswerYet
from edge.web.sessions import COOKIE, Session, csrf_ok
from edge.web.state import WebState

log = logging.getLogger(__name__)
TEMPLATES = Environment(
    loader=PackageLoader("edge.web", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
# Stands for each form's one-time id until the page is sent: every form of every answer gets
# its own, also in a live part shared between browsers.
FORM_ID_MARK = "form-id-" + secrets.token_hex(8)
TEMPLATES.globals["form_id_mark"] = FORM_ID_MARK
# The macros for every template, so that a live block rendered alone has them too.
_MACROS = TEMPLATES.get_template("macros.html").module
TEMPLATES.globals.update(
    csrf_field=_MACROS.csrf_field,  # type: ignore[attr-defined]
    days_left=_MACROS.days_left,  # type: ignore[attr-defined]
    table=_MACROS.table,  # type: ignore[attr-defined]
    write_off_form=_MACROS.write_off_form,  # type: ignore[attr-defined]
)
# An id as one part of a path: ids from the centre may hold "/" (the contract allows it), and
# its routes take it whole (`{name:path}`).
TEMPLATES.filters["url_part"] = lambda value: quote(str(value), safe="")
# Nothing from another host, no inline script; forms post to this page only; no framing.
HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]
LOGIN_HEADER = "x-rxedge-login"
FORWARDED = frozenset({b"x-forwarded-for", b"forwarded"})  # a reverse proxy's headers
PROXY_PROBLEM = (
    "requests arrive through a reverse proxy (they carry X-Forwarded-For) but web.behind_proxy "
    "is false: every browser looks like the proxy, so one person's failed logins lock everyone "
    "out. Set behind_proxy = true in [web] and restart the page"
)
Action = Callable[[Request, dict[str, str], Account], Awaitable[str]]
View = Callable[[Request], Awaitable[Response]]
# Stands for the session's CSRF token in a live part shared between browsers.
CSRF_MARK = b"csrf-of-this-session-" + secrets.token_hex(8).encode()


class SecurityHeaders:
    """Adds HEADERS to every answer."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


class UntrustedProxy:
    """Notices requests that came through a reverse proxy while `web.behind_proxy` is false:
    every browser then has the proxy's address, so one person's failed logins hold back
    everyone's, and a login's address in the log is the proxy's. Logged once; Health says so."""

    def __init__(self, app: ASGIApp, state: WebState):
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        noticed = self.state.untrusted_proxy or scope["type"] != "http"
        if not noticed and any(name in FORWARDED for name, _ in scope["headers"]):
            self.state.untrusted_proxy = True
            log.warning("web: %s", PROXY_PROBLEM)
        await self.app(scope, receive, send)


class DrawnAfter:
    """Notes, as each request starts (before its view reads the ledger), the nudges the live
    feed had sent by then (`LiveFeed.stamp`): the page drawn says it, and its stream, starting
    under another stamp, makes it fetch its live parts again, so that a change between the
    reading and the stream's start is shown, not missed until the next one."""

    def __init__(self, app: ASGIApp, state: WebState):
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})["drawn_after"] = self.state.live.stamp
        await self.app(scope, receive, send)


def state_of(request: Request) -> WebState:
    found: WebState = request.app.state.web
    return found


def session_of(request: Request) -> Session:
    """The request's session; a new one (its cookie set by `finish`) when it has none. A live
    part fetched again by the page's script is not someone using it: the idle clock runs on."""
    found = getattr(request.state, "session", None)
    if isinstance(found, Session):
        return found
    sessions = state_of(request).sessions
    used = request.query_params.get("part") != "live"
    session = sessions.find(request.cookies.get(COOKIE), used)
    if session is None:
        session = sessions.new()
    request.state.session = session
    return session


def account_of(request: Request) -> Account | None:
    """Who is logged in (while their account stands as it was at login). AccountError when
    the accounts file cannot be read; nobody, on the page that says so."""
    session = session_of(request)
    if getattr(request.state, "accounts_unreadable", False):
        return None
    if session.account is not None and not state_of(request).accounts.holds(session.account):
        session.account = None  # removed, or given a new password or badge, meanwhile
    return session.account


def finish(request: Request, response: Response) -> Response:
    """Set the session cookie when the browser does not hold this session's id yet, and say
    whether the session is logged in (LOGIN_HEADER): a page whose login ended meanwhile (idle,
    or the account changed) learns it at its next live refresh and stops showing the name."""
    session = session_of(request)
    response.headers[LOGIN_HEADER] = "1" if account_of(request) is not None else "0"
    if request.cookies.get(COOKIE) != session.sid:
        response.set_cookie(
            COOKIE,
            session.sid,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
    return response


def render(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    """The page (or, with ?part=live, its live block alone)."""
    session = session_of(request)
    state = state_of(request)
    shared = getattr(request.state, "shared", False)
    values = {
        "request": request,
        "account": account_of(request),
        "csrf": CSRF_MARK.decode() if shared else session.csrf,
        "site": state.config.site,
        "gateway": state.config.gateway,
        "names": state.names,
        "when": lambda stamp: state.calendar.clock_time(stamp) if stamp else "",
        "path": request.url.path,
        "back": back_here(request),  # where "Log in" comes back to
        "idle_seconds": round(state.sessions.idle_seconds),
        "site_day": state.today().isoformat(),  # the day the page is drawn on
        "drawn_after": getattr(request.state, "drawn_after", ""),  # the nudges it saw
        **context,
    }
    page = TEMPLATES.get_template(template)
    if request.query_params.get("part") == "live" and "live" in page.blocks:
        body = "".join(page.blocks["live"](page.new_context(values)))
    else:
        values["flash"], session.flash = session.flash, []
        body = page.render(values)
    if not shared:
        body = with_form_ids(body)
    return finish(request, HTMLResponse(body, status_code=status))


def with_form_ids(body: str) -> str:
    """`body` with a fresh one-time id in each form (FORM_ID_MARK)."""
    return re.sub(FORM_ID_MARK, lambda _: str(uuid.uuid4()), body)


def shared_live_part(view: View, lights: bool = False) -> View:
    """`view`, whose `?part=live` answers are shared between browsers (SharedParts) until the
    gateway says something changed (or its lights did, for a view that draws them)."""

    async def endpoint(request: Request) -> Response:
        if request.query_params.get("part") != "live":
            return await view(request)
        state = state_of(request)
        query = tuple(sorted(request.query_params.multi_items()))
        key = (request.url.path, query, account_of(request) is not None, state.today())
        live = state.live
        generation = (live.generation, live.lights_generation if lights else 0)

        async def render() -> tuple[int, bytes]:
            request.state.shared = True  # render() writes CSRF_MARK for the token
            response = await view(request)
            return response.status_code, bytes(response.body)

        status, body = await state.parts.get(key, generation, render)
        token = session_of(request).csrf.encode()
        page = with_form_ids(body.replace(CSRF_MARK, token).decode())
        return finish(request, HTMLResponse(page, status_code=status))

    return endpoint


def refuse(request: Request, status: int, reason: str) -> Response:
    return render(request, "refused.html", status=status, reason=reason)


def action(handler: Action) -> Callable[[Request], Awaitable[Response]]:
    """A POST endpoint that changes something: refused (403, nothing sent) without a login or
    without the session's CSRF token, or from a form of another site; otherwise `handler`
    runs and its note (or the refusal) is shown on the page the form was on."""

    async def endpoint(request: Request) -> Response:
        form = await form_of(request)  # also for a refusal's Back: the view it came from
        if from_another_site(request):
            return refuse(request, 403, "this form was sent from another site")
        session = session_of(request)
        account = account_of(request)
        if account is None:
            return refuse(request, 403, "log in first: only staff with an account may act")
        if not csrf_ok(session, form.get("csrf")):
            return refuse(request, 403, "the form's security token is missing or old; reload")
        try:
            note = await handler(request, form, account)
        except AlreadySent as exc:
            note = str(exc)
        except CommandRefused as exc:
            note = f"Not done: {exc}"
        except NoAnswerYet as exc:
            note = str(exc)
        session.flash.append(note)
        return finish(request, RedirectResponse(back_to(request, form), status_code=303))

    return endpoint


def from_another_site(request: Request) -> bool:
    """Whether a form was sent by a page of another site: its `Origin` names another host than
    the one the browser asked for, `Host` or, behind a reverse proxy (web.behind_proxy), the
    `X-Forwarded-Host` the proxy passes on (nginx sends its upstream's address as `Host`
    unless told otherwise). A page of another site cannot set that header on a form it sends."""
    origin = request.headers.get("origin")
    if origin is None:
        return False
    asked = {request.url.netloc}
    forwarded = request.headers.get("x-forwarded-host")
    if forwarded and state_of(request).config.web.behind_proxy:
        asked.add(forwarded.split(",")[0].strip())
    return urlsplit(origin).netloc not in asked


async def form_of(request: Request) -> dict[str, str]:
    """The request's form fields; where it comes from (`back_to`) is kept for its answer."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    request.state.back = back_to(request, form)
    return form


def back_here(request: Request) -> str:
    """The page to come back to from this answer (after logging in): itself when it is a page
    to look at, else the one its form came from (an action refused is answered at the
    action's address, which answers only forms)."""
    back = getattr(request.state, "back", None)
    if isinstance(back, str):
        return back
    here = with_query(request.url.path, request.url.query)
    if request.method in ("GET", "HEAD") and is_own_path(here) and is_page(request, here):
        return page_for(request, here)
    return back_to(request, {})


def back_to(request: Request, form: dict[str, str]) -> str:
    """Where to go after an action: the form's `next` path on this page, or its referrer's
    (with its query: `/expiring?days=30`), as the page to look at there (`page_for`); "/"
    when neither is one."""
    referrer = urlsplit(request.headers.get("referer", ""))
    for candidate in (form.get("next", ""), with_query(referrer.path, referrer.query)):
        if is_own_path(candidate):
            return page_for(request, candidate)
    return "/"


def with_query(path: str, query: str) -> str:
    return f"{path}?{query}" if query else path


def page_for(request: Request, path: str) -> str:
    """`path` (one of this page's own) when it is a page to look at, with its query but for
    `part` (which asks for the live part alone, no page); else the nearest page above it, the
    view an action belongs to (`/alarms/A1/ack`: `/alarms`), at worst "/"."""
    split = urlsplit(path)
    if is_page(request, split.path):
        asked = parse_qsl(split.query, keep_blank_values=True)
        return with_query(split.path, urlencode([(k, v) for k, v in asked if k != "part"]))
    above = split.path
    while above != "/":
        above = above.rpartition("/")[0] or "/"
        if is_page(request, above):
            return above
    return "/"


class DataRoute(Route):
    """A GET route answering data, not a page to look at (the event stream, a file to
    download): never where a login or an action comes back to."""


def is_page(request: Request, path: str) -> bool:
    """Whether `path` is a page to look at: the route that answers it to GET draws a page
    (not data, a `DataRoute`, nor a static file), and it is not an action's address
    (`/stocktake/start` is one, although the report's route would take it for an id)."""
    scope = {"type": "http", "path": unquote(urlsplit(path).path), "root_path": ""}
    routes = request.app.routes

    def answering(method: str) -> list[BaseRoute]:
        return [r for r in routes if r.matches({**scope, "method": method})[0] == Match.FULL]

    shown = answering("GET")
    drawn = bool(shown) and isinstance(shown[0], Route) and not isinstance(shown[0], DataRoute)
    return drawn and not answering("POST")


def is_own_path(path: str) -> bool:
    """Whether `path` is a path on this page: one "/" and then anything but another "/" or a
    backslash, and no backslash or control character anywhere (browsers drop tabs and line
    breaks from a URL and read a backslash as "/": "/", a tab, "/evil.example" is read as
    "//evil.example", another host)."""
    if path == "/":
        return True
    if len(path) < 2 or path[0] != "/" or path[1] in "/\\" or "\\" in path:
        return False
    return not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in path)


def item_route(path: str, command: str, note: str) -> Route:
    """A POST route sending `command` about the item `path` names (its one parameter: an alarm,
    a pick list, e.g. `{pick_id:path}`), by the person logged in; `note` is shown after, with
    `{item}` and `{by}` filled."""
    key = path[path.index("{") + 1 : path.index("}")].partition(":")[0]

    async def handler(request: Request, form: dict[str, str], account: Account) -> str:
        item = request.path_params[key]
        body = {key: item, "by": account.name}
        await state_of(request).command(command, body, item, form.get("form_id"))
        return note.format(item=item, by=account.name)

    return Route(path, action(handler), methods=["POST"])
