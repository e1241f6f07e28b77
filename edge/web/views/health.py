"""Health: devices up or down, the broker link (the daemon's and the page's), the outbox's
depth and age, the last check of the ledger file, and the site's time zone (with why the
machine's is not what it seems, where `timezone` is left empty); from the daemon's metrics
endpoint, the gateway's status topic and the ledger itself."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from edge.cli.status import summarise
from edge.service.metrics_address import metrics_url, split_listen
from edge.service.metrics_scrape import Unreachable, scrape
from edge.web.pages import PROXY_PROBLEM, render, state_of
from edge.web.reading import ledger_figures

SCRAPE_SECONDS = 2.0


async def health(request: Request) -> Response:
    state = state_of(request)
    daemon: dict[str, Any] | None = None
    problem = ""
    listen = state.config.metrics.listen
    if listen:
        url = metrics_url(*split_listen(listen))
        try:
            found = await to_thread.run_sync(lambda: scrape(url, SCRAPE_SECONDS))
            daemon = summarise(found, None, url)
        except Unreachable as exc:
            problem = str(exc)
    else:
        problem = "the daemon's metrics are off ([metrics] listen), so devices cannot be shown"
    figures = await state.reader.ask(ledger_figures)
    # How long the oldest message has waited is the daemon's measure (its backlog alarm's,
    # `rxedge status`'s), which a step of the wall clock does not move; without the daemon's
    # metrics the page says when it was written instead of guessing from its stamp.
    outbox = daemon["outbox"] if daemon else {}
    figures["outbox_age"] = outbox.get("oldest_age_seconds")
    figures["outbox_age_limit"] = outbox.get("limit_age_seconds")
    session = state.live.session
    check = state.ledger_check
    return render(
        request,
        "health.html",
        daemon=daemon,
        problem=problem,
        figures=figures,
        gateway_status=state.live.state.gateway_status,
        page_linked=session is not None and session.connected.is_set(),
        broker=state.config.broker.urls_text,
        check=check,
        checked_at=None if check.at is None else datetime.fromtimestamp(check.at, UTC),
        browsers=state.live.browsers,
        proxy_problem=PROXY_PROBLEM if state.untrusted_proxy else "",
        zone=state.calendar.zone,
        site_now=state.calendar.clock_time(state.calendar.now()),
        zone_problems=state.zone_problems,
    )


routes = [Route("/health", health)]
