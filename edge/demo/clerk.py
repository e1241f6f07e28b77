"""The procurement clerk at the centre, answering requests the way the centre does: on the
gateway's ``procurement/status``. Each request received is accepted, then ordered from the
wholesaler; the one whose delivery comes is shipped just before it arrives. Every answer is
checked where the gateway keeps it: the request's state in the ledger.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from edge.demo.ledger_file import request_states
from edge.demo.stage import Acts
from edge.demo.stock import DELIVERY_ID
from sync.procurement_feed import ReceivedRequest

CLERK = "purchasing"
FIRST_ORDER = 88121  # the wholesaler's order numbers, one per request


def is_now(db: Path, request_id: str, status: str, received: int | None = None) -> bool:
    """Whether the gateway holds the request in `status` (with `received` packs, if given)."""
    found = request_states(db).get(request_id)
    return (
        found is not None
        and found.status == status
        and (received is None or found.received == received)
    )


def order_number(position: int) -> str:
    return f"wholesaler order {FIRST_ORDER + position}"


async def order_requests(scenario: Acts) -> bool:
    """Accept and order every request the centre received so far."""
    for position, request in enumerate(list(scenario.s.centre.requests)):
        if not await _answer(scenario, request, "accepted", ""):
            return False
        await asyncio.sleep(0.4)
        if not await _answer(scenario, request, "ordered", order_number(position)):
            return False
    return True


async def ship(scenario: Acts, request: ReceivedRequest) -> bool:
    """The wholesaler ships `request`: the delivery the centre announces next."""
    return await _answer(scenario, request, "shipped", f"{DELIVERY_ID} on its way")


async def _answer(scenario: Acts, request: ReceivedRequest, state: str, note: str) -> bool:
    s, short = scenario.s, request.request_id[:8]
    what = f"{request.body['quantity']} x {request.body['name']}"
    said = f": {note}" if note else ""
    scenario.act(CLERK, f"answers request {short} ({what}): {state}{said} (procurement/status)")
    await s.centre.answer(request.request_id, state, note, CLERK)
    s.answers.append(state)
    return await scenario.check(
        f"request {short} is {state} at the gateway",
        lambda: is_now(s.db, request.request_id, state),
    )
