"""What people type into the page: a GTIN copied from a pack's print (digits in groups) finds
the drug."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import expect

from edge.demo.local_broker import LocalBroker
from tests.edge.pick_rig import AMOX
from tests.web.page_rig import page_rig


async def test_a_gtin_typed_in_groups_finds_the_drug(tmp_path: Path, broker: LocalBroker) -> None:
    async with page_rig(tmp_path, broker) as web:
        tab = await web.tab()
        await tab.goto(f"{web.url}/find")
        for typed in ("4 012345 123456", " 04012345 123456 ", "4012345-123456"):
            await tab.fill("#q", typed)
            await tab.click("form.search button")
            await expect(tab.locator(f'[data-gtin="{AMOX}"]')).to_contain_text("4 pack(s) usable")
            await expect(tab.locator(".problem")).to_have_count(0)
