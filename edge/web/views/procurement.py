"""Procurement: requests and their states (with the packs each owes to pick lists that came
short), and confirming a proposed one (optionally with another quantity: one below what it owes
is confirmed, and the answer says how many owed packs it leaves out)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from edge.web.accounts import Account
from edge.web.commands import CommandRefused
from edge.web.pages import action, render, shared_live_part, state_of
from edge.web.reading import requests, stock_and_unclaimed
from inventory.replenishment.requests import (
    OPEN_STATUSES,
    Priority,
    RequestStatus,
    not_covered,
    owed_by,
)
from inventory.replenishment.shortage import confirming


async def procurement(request: Request) -> Response:
    state = state_of(request)
    rows = await state.reader.ask(requests)
    products = {p.gtin: p.policy() for p in state.config.products}
    proposed = [r for r in rows if r["status"] == RequestStatus.PROPOSED and r["gtin"] in products]
    if proposed:
        gtins = [r["gtin"] for r in proposed]
        figures = await state.reader.ask(lambda db: stock_and_unclaimed(db, gtins))
        for row in proposed:
            # What Confirm with the box left empty orders now, as the gateway reckons it.
            quantity, priority = confirming(
                products[row["gtin"]],
                row["quantity"],
                Priority(row["priority"]),
                *figures[row["gtin"]],
            )
            row["if_confirmed"] = {"quantity": quantity, "urgent": priority is Priority.URGENT}
    # What a request owes short pick lists counts while it is proposed or open: shown then.
    open_states = {str(RequestStatus.PROPOSED), *(str(s) for s in OPEN_STATUSES)}
    return render(request, "procurement.html", requests=rows, open_states=open_states)


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
    state = state_of(request)
    owed = await state.reader.ask(lambda db: owed_by(db, request_id))
    answer = await state.command("procurement-confirm", body, request_id, form.get("form_id"))
    sent = answer.get("quantity")
    said = f"Request {request_id} confirmed by {account.name} ({sent} packs)"
    left = not_covered(owed, sent) if isinstance(sent, int) else ""
    return f"{said}; {left}." if left else f"{said}."


routes = [
    Route("/procurement", shared_live_part(procurement)),
    Route("/procurement/{request_id:path}/confirm", action(confirm), methods=["POST"]),
]
