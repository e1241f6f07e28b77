"""Confirming a count from the page: what the gateway left unbooked (a pack the ledger moved
since the count) is said, with why, not passed over as booked."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import expect

from edge.demo.local_broker import LocalBroker
from firmware_sim.tags import sgln96
from tests.conftest import eventually
from tests.edge.pick_rig import (
    OTHER_PACK,
    TAGGED,
    epcs_on_shelf,
    tagged_pack,
    two_tagged_packs_put_away,
)
from tests.web.page_rig import NAME, page_rig

SECOND = 5_000  # ms: generous under load


async def test_confirming_a_count_says_which_differences_it_left_and_why(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker) as web:
        rig, gateway = web.rig, web.rig.gateway
        assert gateway is not None
        await two_tagged_packs_put_away(rig)  # both in A-08, under its fixed reader
        tab = await web.logged_in_tab()
        await tab.goto(f"{web.url}/stocktake")
        await tab.get_by_role("button", name="Start").click()
        await expect(tab.locator(".flash")).to_contain_text("started", timeout=SECOND)
        # The handheld at A-08: OTHER_PACK's tag does not answer it.
        rig.handheld.present([sgln96("4012345", "00001", 8), TAGGED])
        tagged, other = tagged_pack(TAGGED), tagged_pack(OTHER_PACK)
        await eventually(
            lambda: (sweep := gateway.stocktake.sweep) is not None and tagged.epc in sweep.packs,
            what="the sweep reading A-08",
        )
        rig.handheld.present(())
        await tab.get_by_role("button", name="End the running sweep").click()
        await expect(tab.locator(".flash")).to_contain_text("ended", timeout=SECOND)
        stocktake_id = await tab.locator("#stocktakes tbody tr a").first.inner_text()
        # Before the pharmacist confirms, OTHER_PACK is taken off A-08: its reader books it out.
        rig.reader.remove(OTHER_PACK)
        await eventually(lambda: other.epc not in epcs_on_shelf(rig.db), what="booked out")

        await tab.goto(f"{web.url}/stocktake/{stocktake_id}")
        await tab.get_by_role("button", name="Confirm: book the differences").click()

        await expect(tab.locator(".flash")).to_have_text(
            f"Stocktake {stocktake_id} confirmed by {NAME}: 0 difference(s) booked; 1 not "
            f"booked: {other.gtin}/{other.serial} in A-08 (picked since the count).",
            timeout=SECOND,
        )
