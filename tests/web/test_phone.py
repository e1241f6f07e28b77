"""On a phone the menu takes little of the screen, its links still a finger's height, and every
action of a view (an alarm's Acknowledge, Expiring's and Procurement's quantity and button, a
pick list's, a delivery's and a stocktake's buttons) is on the screen, not beyond its right
edge in a table that scrolls sideways; the page does not jump as typing in a box starts and
ends holding its part."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from playwright.async_api import Page, expect

from edge.demo.local_broker import LocalBroker
from inventory.keeper import InventoryKeeper
from inventory.replenishment.requests import RequestStatus
from sync.commands import with_envelope
from tests.conftest import Subscriber
from tests.edge.pick_rig import AMOX, IBU, PREFIX
from tests.web.page_rig import EXPIRED, artifacts, page_rig
from tests.web.test_procurement_rows import request

SECOND = 5_000  # ms: generous under load
PHONES = ({"width": 360, "height": 640}, {"width": 412, "height": 915})
PHONE = PHONES[0]
# Every control of the view's main part: where it lies, also inside a box that scrolls sideways.
CONTROLS = """() => [...document.querySelectorAll(
    "main button, main input:not([type=hidden]), main select")].map((el) => {
  const box = el.getBoundingClientRect();
  return {what: (el.name || el.textContent).trim(), left: box.left, right: box.right};
})"""


async def test_on_a_phone_the_menu_is_small_and_an_alarm_can_be_acknowledged(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker) as web:
        tab = await web.logged_in_tab()
        for phone in PHONES:
            await tab.set_viewport_size(phone)
            await tab.goto(f"{web.url}/alarms")
            header = await tab.locator("header").bounding_box()
            assert header is not None
            assert header["height"] <= 0.25 * phone["height"], (phone, header)
            for link in await tab.locator("nav a").all():
                box = await link.bounding_box()
                assert box is not None and box["height"] >= 44, box
            button = tab.locator(f'tr[data-alarm="{EXPIRED}"]').get_by_role(
                "button", name="Acknowledge"
            )
            await button.scroll_into_view_if_needed()
            box = await button.bounding_box()
            assert box is not None
            assert box["x"] >= 0 and box["x"] + box["width"] <= phone["width"], (phone, box)
            assert box["height"] >= 44, box
            width = await tab.evaluate("document.documentElement.scrollWidth")
            assert width <= phone["width"], "the page itself does not scroll sideways"
            await tab.screenshot(path=str(artifacts() / f"alarms-phone-{phone['width']}.png"))
        await button.click()
        await expect(tab.locator(".flash")).to_contain_text(EXPIRED)


async def all_on_the_screen(tab: Page, view: str, wanted: set[str]) -> None:
    """Every control of `view` lies within the phone's width, `wanted` among them."""
    await tab.goto(view)
    controls = await tab.evaluate(CONTROLS)
    assert wanted <= {c["what"] for c in controls}, (view, controls)
    beyond = [c for c in controls if c["left"] < 0 or c["right"] > PHONE["width"]]
    assert beyond == [], (view, beyond)
    width = await tab.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{view}: the page itself does not scroll sideways"
    name = view.rpartition("/")[2].partition("?")[0]
    await tab.screenshot(path=str(artifacts() / f"phone-{name}.png"), full_page=True)


async def test_on_a_phone_every_action_of_a_view_is_on_the_screen(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    centre = subscribe(f"{PREFIX}/cmd-result")
    async with page_rig(tmp_path, broker) as web:
        tab = await web.logged_in_tab()
        await tab.set_viewport_size(PHONE)
        pick = {"pick_id": "rx-7", "lines": [{"gtin": AMOX, "quantity": 2}], "picker": "Ana"}
        centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(pick)))
        notice = {"delivery_id": "DESADV-7", "lines": [{"gtin": IBU, "quantity": 2}]}
        centre.publish(f"{PREFIX}/cmd/putaway", json.dumps(with_envelope(notice)))
        await tab.goto(f"{web.url}/picks")
        await expect(tab.locator('[data-pick="rx-7"]')).to_have_count(1, timeout=SECOND)
        await all_on_the_screen(tab, f"{web.url}/picks", {"Cancel this list"})
        await tab.goto(f"{web.url}/deliveries")
        await expect(tab.locator('[data-delivery="DESADV-7"]')).to_have_count(1, timeout=SECOND)
        await all_on_the_screen(tab, f"{web.url}/deliveries", {"End this delivery"})

        await all_on_the_screen(tab, f"{web.url}/expiring?days=3000", {"quantity", "Write off"})
        line = tab.locator('tr[data-line="A-03/OLD"]')
        await line.locator('input[name="quantity"]').fill("1")
        await line.get_by_role("button", name="Write off").click()
        await expect(tab.locator(".flash")).to_contain_text("written off by", timeout=SECOND)

        await tab.goto(f"{web.url}/stocktake")
        await tab.get_by_role("button", name="Start").click()
        await expect(tab.locator(".flash")).to_contain_text("started", timeout=SECOND)
        await all_on_the_screen(
            tab, f"{web.url}/stocktake", {"shelf", "Start", "End the running sweep of shelf A"}
        )
        await web.handheld_reads_the_shelf()
        await tab.get_by_role("button", name="End the running sweep").click()
        await expect(tab.locator(".flash")).to_contain_text("ended", timeout=SECOND)
        report = await tab.locator("#stocktakes tbody tr a").first.get_attribute("href")
        confirm = "Confirm: book the differences"
        await all_on_the_screen(tab, f"{web.url}{report}", {confirm})

        await web.rig.stop_daemon()  # the ledger's one writer: the test writes now
        keeper = InventoryKeeper(web.rig.db, {}, "s1", "g1")
        try:
            made = request(0, RequestStatus.PROPOSED, "2026-01-05T09:00:00.000Z")
            keeper.record(keeper.stamp(), [], [replace(made, confirmed_by="")])
        finally:
            keeper.close()
        await all_on_the_screen(tab, f"{web.url}/procurement", {"quantity", "Confirm"})


async def test_the_page_does_not_jump_while_typing_holds_a_live_part(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """The top bar says "held" while typing holds a part, in a mark as wide as "live": what is
    under it stays where it was, so a tap aimed at Write off as the hold ends lands there."""
    box = f'tr[data-alarm="{EXPIRED}"] input[name="quantity"]'
    async with page_rig(tmp_path, broker) as web:
        tab = await web.logged_in_tab()
        link = tab.locator("#live-link")
        for width in (PHONES[0]["width"], 1280):
            await tab.set_viewport_size({"width": width, "height": 800})
            await tab.goto(f"{web.url}/alarms")
            await expect(link).to_have_attribute("data-state", "live")
            live = await tab.locator("main").bounding_box()
            await tab.locator(box).fill("2")
            await web.device_down(f"r{width}")
            await expect(link).to_have_attribute("data-state", "held")
            held = await tab.locator("main").bounding_box()
            assert held is not None and live is not None
            assert held["y"] == live["y"], (width, live, held)
            await expect(link).to_have_attribute("title", "live, held while you type")
