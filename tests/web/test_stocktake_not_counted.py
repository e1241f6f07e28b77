"""The page on a count that did not pass every slot: the list of counts names the slots not
counted, and a slot not counted shows its packs found elsewhere (confirming moves them) and
how to count it, never that nothing is booked there. An abandoned count says when and why."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from playwright.async_api import expect

from edge.demo.local_broker import LocalBroker
from firmware_sim.tags import sgln96, sgtin96
from inventory.keeper import InventoryKeeper
from tests.conftest import eventually
from tests.edge.pick_rig import stock, tagged_pack
from tests.web.page_rig import NAME, page_rig

SECOND = 5_000  # ms: generous under load
MOVED = sgtin96("4012345", "000002", 33)  # booked in A-05, lying in A-01


async def test_a_slot_not_counted_shows_its_packs_found_elsewhere(
    tmp_path: Path, broker: LocalBroker
) -> None:
    moved = tagged_pack(MOVED)
    ledger = tmp_path / "ledger.sqlite"  # what the rig's shelves hold, and the pack in A-05
    stock(ledger)
    keeper = InventoryKeeper(ledger, {}, "s1", "g1")
    keeper.put_away(moved, "A-05")
    keeper.close()
    async with page_rig(tmp_path, broker) as web:
        rig, gateway = web.rig, web.rig.gateway
        assert gateway is not None
        tab = await web.logged_in_tab()
        await tab.goto(f"{web.url}/stocktake")
        await tab.get_by_role("button", name="Start").click()
        await expect(tab.locator(".flash")).to_contain_text("started", timeout=SECOND)
        # The handheld at A-01 alone, where it reads the pack booked in A-05.
        rig.handheld.present([sgln96("4012345", "00001", 1), MOVED])
        await eventually(
            lambda: (sweep := gateway.stocktake.sweep) is not None and moved.epc in sweep.packs,
            what="the sweep reading A-01",
        )
        rig.handheld.present(())
        await tab.get_by_role("button", name="End the running sweep").click()
        await expect(tab.locator(".flash")).to_contain_text("ended", timeout=SECOND)
        listed = tab.locator("#stocktakes tbody tr").first
        await expect(listed).to_contain_text(
            "1 misplaced; not counted: A-02, A-03, A-04, A-05, A-06, A-07, A-08", timeout=SECOND
        )

        await listed.locator("a").click()
        row = tab.locator("tr.not-counted", has_text="A-05")
        await expect(row).to_contain_text("sweep it again or replace its location tag")
        await expect(row).not_to_contain_text("Nothing is booked here")
        await expect(row.locator("td").last).to_have_text(f"{moved.gtin} 33 (seen in A-01)")
        await tab.get_by_role("button", name="Confirm: book the differences").click()
        await expect(tab.locator(".flash")).to_contain_text(f"confirmed by {NAME}", timeout=SECOND)
        with sqlite3.connect(ledger) as db:
            booked = db.execute("SELECT slot FROM stock WHERE epc = ?", (moved.epc,)).fetchall()
        assert booked == [("A-01",)], "the page said it was left where it was booked"


async def test_an_abandoned_count_says_when_and_why(tmp_path: Path, broker: LocalBroker) -> None:
    stock(tmp_path / "ledger.sqlite")
    async with page_rig(tmp_path, broker) as web:
        tab = await web.logged_in_tab()
        await tab.goto(f"{web.url}/stocktake")
        await tab.get_by_role("button", name="Start").click()
        await expect(tab.locator(".flash")).to_contain_text("started", timeout=SECOND)
        # Ended before the handheld read any location tag of the shelf: nothing to judge.
        await tab.get_by_role("button", name="End the running sweep").click()
        await expect(tab.locator(".flash")).to_contain_text("abandoned", timeout=SECOND)
        await tab.locator("#stocktakes tbody tr").first.locator("a").click()
        said = tab.locator("[data-abandoned]")
        await expect(said).to_contain_text("Not counted: the sweep was abandoned 20")
        await expect(said).to_contain_text("no location tag of shelf A was read")
