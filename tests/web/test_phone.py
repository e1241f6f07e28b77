"""On a phone the menu takes little of the screen, its links still a finger's height, and an
alarm's Acknowledge button is on the screen, not beyond its right edge."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import expect

from edge.demo.local_broker import LocalBroker
from tests.web.page_rig import EXPIRED, artifacts, page_rig

PHONES = ({"width": 360, "height": 640}, {"width": 412, "height": 915})


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
