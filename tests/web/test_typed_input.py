"""What people type into the page: a GTIN copied from a pack's print (digits in groups) finds
the drug; a superscript two in a search, a number of days or a quantity is named as a
problem, never an error page (Arabic-Indic digits are read as the numbers they are)."""

from __future__ import annotations

import urllib.parse
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


async def test_digits_of_other_scripts_are_named_not_an_error_page(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker) as web:
        tab = await web.logged_in_tab()
        for path, said in (
            ("/find?q=" + urllib.parse.quote("²" * 13), "no product"),
            ("/expiring?days=" + urllib.parse.quote("²"), "not a whole number from 0 to 3650"),
            ("/expiring?days=" + urllib.parse.quote("٣٠"), "Expiring within 30 days"),
        ):
            answer = await tab.request.get(web.url + path)
            assert answer.status == 200, path
            assert said in await answer.text(), path
        token = await tab.locator('input[name="csrf"]').first.get_attribute("value")
        confirmed = await tab.request.post(
            f"{web.url}/procurement/req-1/confirm",
            form={"csrf": token or "", "next": "/procurement", "quantity": "²"},
        )
        assert confirmed.status == 200
        assert "must be a whole number of packs" in await confirmed.text()
        await tab.goto(f"{web.url}/expiring?days=abc")
        await expect(tab.locator(".problem")).to_contain_text("0 to 3650")
        await expect(tab.locator("#days")).to_have_value("30")
