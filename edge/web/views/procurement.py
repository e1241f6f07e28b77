"""Procurement: requests and their states, and confirming a proposed one (optionally with
another quantity)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from edge.web.accounts import Account
from edge.web.commands import CommandRefused
from edge.web.pages import action, render, shared_live_part, state_of
from edge.web.reading import requests, stock_and_on_order
from inventory.replenishment.orders import confirming
from inventory.replenishment.requests import Priority, RequestStatus


async def procurement(request: Request) -> Response:
    state = state_of(request)
    rows = await state.reader.ask(requests)
    products = {p.gtin: p.policy() for p in state.config.products}
    proposed = [r for r in rows if r["status"] == RequestStatus.PROPOSED and r["gtin"] in products]
    if proposed:
        gtins = [r["gtin"] for r in proposed]
        figures = await state.reader.ask(lambda db: stock_and_on_order(db, gtins))
        for row in proposed:
            # What Confirm with the box left empty orders now, as the gateway reckons it.
            quantity, priority = confirming(
                products[row["gtin"]],
                row["quantity"],
                Priority(row["priority"]),
                *figures[row["gtin"]],
            )
            row["if_confirmed"] = {"quantity": quantity, "urgent": priority is Priority.URGENT}
    return render(request, "procurement.html", requests=rows)


async def confirm(request: Request, form: dict[str, str], account: Account) -> str:
    request_id = request.path_params["request_id"]
    body: dict[str, object] = {"request_id": request_id, "by": account.name}
    quantity = form.get("quantity", "").strip()
    if quantity:
        if not quantity.isdecimal() or len(quantity) > 9 or int(quantity) < 1:
            raise CommandRefused(
                f"quantity {quantity!r} must be a whole number of packs, 1 or more"
            )
        body["quantity"] = int(quantity)
    answer = await state_of(request).command(
        "procurement-confirm", body, request_id, form.get("form_id")
    )
    return f"Request {request_id} confirmed by {account.name} ({answer.get('quantity')} packs)."


routes = [
    Route("/procurement", shared_live_part(procurement)),
    Route("/procurement/{request_id:path}/confirm", action(confirm), methods=["POST"]),
]
