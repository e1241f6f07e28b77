"""Taking held packs off the shelf from the page: the quarantined packs (expired, recalled,
held back) of a batch in a slot that the person logged in took away, written off by them
(`cmd/write-off`). Offered on the Alarms view (each slot of an expired batch) and the Expiring
view (each held line); the daemon refuses any but quarantined stock."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from edge.web.accounts import Account
from edge.web.commands import CommandRefused
from edge.web.pages import action, state_of
from inventory.alarms.lifecycle import batch_subject


async def write_off(request: Request, form: dict[str, str], account: Account) -> str:
    state = state_of(request)
    gtin, batch, slot = form.get("gtin", ""), form.get("batch", ""), form.get("slot", "")
    body: dict[str, object] = {"gtin": gtin, "batch": batch, "slot": slot, "by": account.name}
    quantity = form.get("quantity", "").strip()
    if quantity:
        if not quantity.isdecimal() or len(quantity) > 9 or int(quantity) < 1:
            raise CommandRefused(
                f"packs {quantity!r} must be a whole number, 1 or more (leave it empty for "
                "every held pack there)"
            )
        body["quantity"] = int(quantity)
    subject = batch_subject(gtin, batch)
    answer = await state.command("write-off", body, subject, form.get("form_id"))
    name = state.names.get(gtin, f"GTIN {gtin}")
    return (
        f"{answer['quantity']} pack(s) of {name} batch {batch or '-'} ({answer['why']}) taken "
        f"off the shelf in {slot}, written off by {account.name}; {answer['left']} held there "
        "still."
    )


routes = [Route("/write-off", action(write_off), methods=["POST"])]
