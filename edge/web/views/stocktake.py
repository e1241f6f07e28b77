"""Stocktake: start and end a sweep of a shelf, the reports (missing, unexpected, misplaced
per slot), confirming one, and its EPCIS 2.0 document."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from edge.cli.stocktake_report import LEFT_BY_TAP, NOT_PASSED, abandoned_why, epcis_export
from edge.web.accounts import Account
from edge.web.commands import CommandRefused
from edge.web.pages import DataRoute, action, refuse, render, shared_live_part, state_of
from edge.web.reading import Rows, stocktake, stocktakes
from inventory.stocktake.adjustments import not_booked
from inventory.stocktake.report import StocktakeReport


async def overview(request: Request) -> Response:
    state = state_of(request)
    rows = await state.reader.ask(stocktakes)
    for row in rows:
        counted = StocktakeReport.from_dict(json.loads(row.pop("report")))
        row["summary"], row["not_counted"] = counted.summary(), counted.not_counted
    shelves = [s.name for s in state.config.shelves]
    return render(request, "stocktake.html", stocktakes=rows, shelves=shelves)


Found = tuple[StocktakeReport, Rows]


def _of_stocktake(
    page: Callable[[Request, str, Found], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """A page about the stocktake the path names: 404 when the ledger has none of that id."""

    async def endpoint(request: Request) -> Response:
        stocktake_id = request.path_params["stocktake_id"]
        found = await state_of(request).reader.ask(lambda db: stocktake(db, stocktake_id))
        if found is None:
            return refuse(request, 404, f"no stocktake {stocktake_id!r} in the ledger")
        return await page(request, stocktake_id, found)

    return endpoint


@_of_stocktake
async def report(request: Request, stocktake_id: str, found: Found) -> Response:
    body, rows = found
    return render(
        request,
        "stocktake_report.html",
        report=body,
        row=rows[0],
        summary=body.summary(),
        not_passed=NOT_PASSED,
        left_by_tap=LEFT_BY_TAP,
        # whose badge confirmed it at the shelf, leaving the packs booked on another shelf
        tapped=body.tapped_by if rows[0]["state"] == "confirmed" else "",
        abandoned=abandoned_why(body),
    )


@_of_stocktake
async def epcis(request: Request, stocktake_id: str, found: Found) -> Response:
    state = state_of(request)
    document = epcis_export(found[0], state.clock.now(), state.config.site)
    return Response(
        json.dumps(document, indent=2),
        media_type="application/ld+json",
        headers={"content-disposition": f'attachment; filename="stocktake-{stocktake_id}.jsonld"'},
    )


async def start(request: Request, form: dict[str, str], account: Account) -> str:
    shelf = form.get("shelf", "")
    answer = await state_of(request).command(
        "stocktake-start", {"shelf": shelf, "by": account.name}, None, form.get("form_id")
    )
    started = answer.get("stocktake_id")
    return f"Stocktake {started} of shelf {shelf} started: sweep the handheld along it."


async def end(request: Request, form: dict[str, str], account: Account) -> str:
    """Ends the sweep the page showed (the gateway refuses when another one runs)."""
    stocktake_id = form.get("stocktake_id", "")
    if not stocktake_id:
        raise CommandRefused("the form names no sweep (stocktake_id); reload the page")
    body = {"stocktake_id": stocktake_id}
    answer = await state_of(request).command(
        "stocktake-end", body, stocktake_id, form.get("form_id")
    )
    if answer.get("status") == "abandoned":  # nothing to judge: no report
        return f"Stocktake {answer.get('command_id')} abandoned: {answer.get('reason')}."
    return f"Stocktake {answer.get('command_id')} ended; its report is below."


async def confirm(request: Request, form: dict[str, str], account: Account) -> str:
    """Books the report's differences; says which the gateway left, and why (moved since the
    count, found without a slot)."""
    stocktake_id = request.path_params["stocktake_id"]
    body = {"stocktake_id": stocktake_id, "by": account.name}
    answer = await state_of(request).command(
        "stocktake-confirm", body, stocktake_id, form.get("form_id")
    )
    done = f"Stocktake {stocktake_id} confirmed by {account.name}: "
    left = not_booked(answer.get("skipped"))
    if not left:
        return done + "its differences are booked."
    return done + f"{answer.get('adjustments')} difference(s) booked; {left}."


routes = [
    Route("/stocktake", shared_live_part(overview)),
    Route("/stocktake/start", action(start), methods=["POST"]),
    Route("/stocktake/end", action(end), methods=["POST"]),
    # An id may hold "/": the routes ending in a word of their own come before the report's.
    DataRoute("/stocktake/{stocktake_id:path}/epcis", epcis),
    Route("/stocktake/{stocktake_id:path}/confirm", action(confirm), methods=["POST"]),
    Route("/stocktake/{stocktake_id:path}", shared_live_part(report)),
]
