"""The Procurement view in Chromium: a proposal keeps its row and its Confirm button however many
requests came after it (the list shows the newest 500 and every one still proposed or open),
and a request sent again for want of an answer says how many times; a proposal says what
confirming it now orders, and what it owes to pick lists that came short (confirmed for fewer,
the answer says how many of those are not covered)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from playwright.async_api import expect

from edge.demo.local_broker import LocalBroker
from inventory.keeper import InventoryKeeper
from inventory.ledger.outbox import MessageKind, OutboxMessage
from inventory.replenishment.policy import Product
from inventory.replenishment.requests import Priority, ProcurementRequest, RequestStatus
from tests.edge.pick_rig import IBU
from tests.web.page_rig import NAME, page_rig

NEWER = 501  # finished requests made after the proposal: more than the list's 500 newest


def request(n: int, status: RequestStatus, created_at: str) -> ProcurementRequest:
    product = Product(IBU, "Ibuprofen 400 mg", reorder_point=1, par=8)
    return ProcurementRequest(
        f"00000000-0000-4000-8000-{n:012d}",
        created_at,
        product,
        2,
        Priority.ROUTINE,
        0,
        0,
        "auto",
        status,
    )


async def test_an_old_proposal_keeps_its_confirm_button_and_copies_sent_are_counted(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker) as web:
        tab = await web.logged_in_tab()
        await web.rig.stop_daemon()  # the ledger's one writer: the test writes now
        keeper = InventoryKeeper(web.rig.db, {}, "s1", "g1")
        try:
            at = keeper.stamp()
            proposal = replace(
                request(0, RequestStatus.PROPOSED, "2026-01-05T09:00:00.000Z"), confirmed_by=""
            )
            unanswered = request(1, RequestStatus.REQUESTED, "2026-01-06T09:00:00.000Z")
            newer = [
                request(2 + n, RequestStatus.RECEIVED, f"2026-02-01T09:{n // 60:02d}:{n % 60:02d}Z")
                for n in range(NEWER)
            ]
            keeper.record(at, [], [proposal, unanswered, *newer])
            copy = keeper.db.execute(
                "SELECT payload FROM outbox WHERE key = ?", (unanswered.request_id,)
            ).fetchone()[0]
            again = OutboxMessage(MessageKind.PROCUREMENT_REQUEST, copy, unanswered.request_id)
            keeper.send([again, again])
        finally:
            keeper.close()
        await tab.goto(f"{web.url}/procurement")
        row = tab.locator(f'tr[data-request="{proposal.request_id}"]')
        await expect(row.get_by_role("button", name="Confirm")).to_be_visible()
        sent = tab.locator(f'tr[data-request="{unanswered.request_id}"] [data-sent-again]')
        await expect(sent).to_have_text("sent again 2 times: no answer from the centre yet")
        await expect(tab.locator("tr[data-request]")).to_have_count(NEWER + 1)


async def test_a_proposal_says_what_confirming_it_now_orders(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """Proposed for 2 packs while some were on the shelf; since then every pack is held back:
    Confirm with the box left empty orders what is missing now, urgent, and the row says so
    before the click (what the gateway's order book then orders)."""
    async with page_rig(tmp_path, broker) as web:
        tab = await web.logged_in_tab()
        await web.rig.stop_daemon()  # the ledger's one writer: the test writes now
        products = {IBU: Product(IBU, "Ibuprofen 400 mg", reorder_point=1, par=8)}
        keeper = InventoryKeeper(web.rig.db, products, "s1", "g1")
        try:
            proposal = replace(
                request(0, RequestStatus.PROPOSED, "2026-01-05T09:00:00.000Z"), confirmed_by=""
            )
            keeper.record(keeper.stamp(), [], [proposal])
            for batch in ("I1", "I2"):  # the rig's Ibuprofen, all of it
                keeper.picks.recall(IBU, batch, "supplier notice")
            await tab.goto(f"{web.url}/procurement")
            row = tab.locator(f'tr[data-request="{proposal.request_id}"]')
            said = row.locator("[data-if-confirmed]")
            now = "left empty, orders 8 packs, urgent: what is missing now"
            await expect(said).to_have_text(now)
            await expect(row.locator('input[name="quantity"]')).to_have_attribute(
                "placeholder", "8"
            )
            [sent] = keeper.orders.confirm(proposal.request_id, NAME).requests
            assert (sent.quantity, sent.priority) == (8, Priority.URGENT)
        finally:
            keeper.close()


async def test_a_proposal_shows_what_it_owes_and_confirming_fewer_says_what_is_not_covered(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """A proposal for 5 packs owed to pick lists that came short: its row says so; confirmed
    for 3 from the page, it is sent, and the answer says the other 2 are not covered."""
    async with page_rig(tmp_path, broker) as web:
        tab = await web.logged_in_tab()
        await web.rig.stop_daemon()  # the ledger's one writer: the test writes now
        keeper = InventoryKeeper(web.rig.db, {}, "s1", "g1")
        try:
            owed = replace(
                request(0, RequestStatus.PROPOSED, "2026-01-05T09:00:00.000Z"),
                quantity=5,
                owed=5,
                priority=Priority.URGENT,
                confirmed_by="",
            )
            keeper.record(keeper.stamp(), [], [owed])
        finally:
            keeper.close()
        await web.rig.start_daemon()
        await tab.goto(f"{web.url}/procurement")
        row = tab.locator(f'tr[data-request="{owed.request_id}"]')
        await expect(row.locator("[data-owed]")).to_have_text("5 owed to short pick lists")
        await row.locator('input[name="quantity"]').fill("3")
        await row.get_by_role("button", name="Confirm").click()
        await expect(tab.locator(".flash")).to_have_text(
            f"Request {owed.request_id} confirmed by {NAME} (3 packs); 2 packs owed to short "
            "pick lists are not covered.",
            timeout=5_000,
        )
        row = tab.locator(f'tr[data-request="{owed.request_id}"]')
        await expect(row.locator(".state")).to_contain_text("requested")
        await expect(row.locator("[data-owed]")).to_have_text("3 owed to short pick lists")
