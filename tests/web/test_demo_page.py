"""`rxedge demo --web 0` serves the page beside the demo and prints its address and a login:
Chromium finds the demo shelf's 24 slots with their products and reaches every view."""

from __future__ import annotations

import asyncio
import re
import signal
import sys

from playwright.async_api import expect

from tests.web.page_rig import TABLET, artifacts, chromium

VIEWS = {
    "Picks": "Pick lists",
    "Alarms": "Alarms",
    "Find": "Find a drug",
    "Expiring": "Expiring",
    "Stocktake": "Stocktake",
    "Procurement": "Procurement",
    "Health": "Health",
    "Shelves": "Shelves",
}


async def test_the_demo_serves_its_shelf_map_and_every_view() -> None:
    demo = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "edge.cli",
        "demo",
        "--web",
        "0",
        "--plain",
        "--forever",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert demo.stdout is not None
    try:
        found = None
        while found is None:
            line = (await asyncio.wait_for(demo.stdout.readline(), 60)).decode()
            assert line, "the demo ended without printing the page's address"
            found = re.search(
                r"web page: (http://127\.0\.0\.1:\d+) \(log in as (\S+), password (\S+)\)", line
            )
        url, user, password = found.groups()
        async with chromium() as browser:
            tab = await (await browser.new_context(viewport=TABLET)).new_page()
            await tab.goto(url)
            await expect(tab.locator("h1")).to_have_text("Shelves")
            await expect(tab.locator(".slot")).to_have_count(24)
            await expect(tab.locator('.slot[data-slot="A-01"]')).to_contain_text("Amoxicillin")
            await expect(tab.locator('.slot[data-slot="A-20"]')).to_contain_text("Lisinopril")
            await expect(tab.locator("#live-link")).to_have_attribute("data-state", "live")
            await tab.screenshot(path=str(artifacts() / "demo-shelves.png"))
            for link, heading in VIEWS.items():
                await tab.get_by_role("link", name=link, exact=True).click()
                await expect(tab.locator("h1")).to_contain_text(heading)
            await tab.get_by_role("link", name="Log in").click()
            await tab.fill("#user", user)
            await tab.fill("#password", password)
            await tab.click("form.login button")
            await expect(tab.locator("#who")).to_have_text("Demo Pharmacist")
    finally:
        if demo.returncode is None:
            demo.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(demo.wait(), 30)
            except TimeoutError:
                demo.kill()
                await demo.wait()
