"""What people type into the page: a GTIN copied from a pack's print (digits in groups) finds
the drug; a number from a product's name ("500" of "Amoxicillin 500 mg") finds it by name, not
read as a broken barcode; a name that many products hold says how many are not shown; a
superscript two in a search, a number of days or a quantity is named as a problem, never an
error page (Arabic-Indic digits are read as the numbers they are)."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

from playwright.async_api import expect

from edge.demo.local_broker import LocalBroker
from inventory.codes.gtin import gtin_check_digit
from tests.edge.pick_rig import AMOX, IBU
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


async def test_a_number_from_a_products_name_finds_it_by_name(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker) as web:
        tab = await web.tab()
        await tab.goto(f"{web.url}/find")
        for typed, gtin in (("500", AMOX), ("400 mg", IBU), ("0104012345000016", IBU)):
            await tab.fill("#q", typed)
            await tab.click("form.search button")
            await expect(tab.locator(".answer")).to_have_count(1)
            await expect(tab.locator(f'[data-gtin="{gtin}"]')).to_be_visible()
            await expect(tab.locator(".problem")).to_have_count(0)
        # Digits that could be a code and are not, and no name holds: said what is wrong.
        for typed, said in (
            ("12345678", "wrong check digit"),
            ("1234567890", "must be 8, 12, 13 or 14 digits"),
            ("0104012345000015", "GTIN 04012345000015"),
            ("750", "no product's name holds '750'"),
        ):
            await tab.fill("#q", typed)
            await tab.click("form.search button")
            await expect(tab.locator(".problem")).to_contain_text(said)
            await expect(tab.locator(".answer")).to_have_count(0)


async def test_a_name_many_products_hold_says_how_many_are_not_shown(
    tmp_path: Path, broker: LocalBroker
) -> None:
    many = [
        {"gtin": gtin(n), "name": f"Saline {n:02d} mg", "reorder_point": 0, "par": 1}
        for n in range(25)
    ]
    ours = [{"gtin": g, "name": n, "reorder_point": 1, "par": 8} for g, n in NAMED]
    async with page_rig(tmp_path, broker, products=ours + many) as web:
        tab = await web.tab()
        await tab.goto(f"{web.url}/find?q=mg")
        await expect(tab.locator(".answer")).to_have_count(20)
        await expect(tab.locator("#more-matches")).to_have_text(
            '20 of the 27 products whose name holds "mg" are shown; type more of the name.'
        )
        await tab.goto(f"{web.url}/find?q=saline+1")
        await expect(tab.locator(".answer")).to_have_count(10)
        await expect(tab.locator("#more-matches")).to_have_count(0)


NAMED = ((AMOX, "Amoxicillin 500 mg"), (IBU, "Ibuprofen 400 mg"))


def gtin(n: int) -> str:
    """A GTIN-14 of its own for product `n`, check digit right."""
    first = f"0401234599{n:03d}"
    return first + str(gtin_check_digit(first))


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
