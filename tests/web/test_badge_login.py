"""Logging in by a badge tap, end to end: the real pcscd with vpcd's virtual reader, a virtual
card, the daemon and the page both watching the reader, and a headless Chromium at the login
page. The browser that asked is logged in by the next tap; with two screens waiting the tap
logs in neither."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from edge.demo.local_broker import LocalBroker
from edge.web.accounts import Accounts
from firmware_sim.virtual_badge import VirtualBadge
from tests.web.page_rig import NAME, PASSWORD, USER, artifacts, page_rig

UID = "04A1B2C3D4E5F6"
BADGES = {"enabled": True, "reader": "Virtual PCD 00 00"}


async def ask_for_badge(tab: Page, url: str) -> None:
    await tab.goto(f"{url}/login?next=/alarms")
    await tab.get_by_role("button", name="Log in with your badge").click()
    await expect(tab.locator("#badge-wait .tap")).to_contain_text("Tap your badge")


@pytest.mark.usefixtures("pcscd")
async def test_a_badge_tap_logs_in_the_one_browser_that_asked(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker, badges=BADGES) as web:
        Accounts(tmp_path / "web-users.json").add(USER, NAME, PASSWORD, badge=UID)
        first, second = await web.tab(), await web.tab()
        for tab in (first, second):
            await ask_for_badge(tab, web.url)
        badge = VirtualBadge(bytes.fromhex(UID))
        try:
            await badge.insert()
            for tab in (first, second):
                await expect(tab.locator("#badge-wait .tap")).to_contain_text(
                    "more than one screen was waiting"
                )
                await expect(tab.locator("#who")).to_have_count(0)
            await badge.remove()

            await ask_for_badge(first, web.url)
            await first.screenshot(path=str(artifacts() / "badge-login.png"))
            await badge.insert()
            await expect(first.locator("#who")).to_contain_text(NAME)
            await expect(first).to_have_url(f"{web.url}/alarms")
            await expect(first.locator(".flash")).to_contain_text("by badge")
            await second.reload()
            await expect(second.locator("#who")).to_have_count(0)
        finally:
            await badge.remove()


@pytest.mark.usefixtures("pcscd")
async def test_a_screen_not_beside_the_reader_cannot_ask(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(
        tmp_path, broker, web={"badge_login_from": ["192.0.2.7"]}, badges=BADGES
    ) as web:
        tab = await web.tab()
        await tab.goto(f"{web.url}/login")
        await expect(tab.locator("form.login")).to_be_visible()
        await expect(tab.get_by_role("button", name="Log in with your badge")).to_have_count(0)
        csrf = await tab.locator('form.login input[name="csrf"]').get_attribute("value")
        cookies = await tab.context.cookies()
        cookie = "; ".join(f"{c['name']}={c['value']}" for c in cookies)
        status, body = await web.post("/login/badge", {"csrf": csrf or ""}, cookie)
        assert status == 403 and "web.badge_login_from" in body


@pytest.mark.usefixtures("pcscd")
async def test_giving_an_account_another_badge_ends_its_logins(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """A lost badge given up (`add-user --badge` with the new one) logs out the screen it
    logged in, as a new password would: every login of the account ends when it is written
    again."""
    async with page_rig(tmp_path, broker, badges=BADGES) as web:
        accounts = Accounts(tmp_path / "web-users.json")
        accounts.add(USER, NAME, PASSWORD, badge=UID)
        by_badge, by_password = await web.tab(), await web.logged_in_tab()
        await ask_for_badge(by_badge, web.url)
        badge = VirtualBadge(bytes.fromhex(UID))
        try:
            await badge.insert()
            await expect(by_badge.locator("#who")).to_contain_text(NAME)
        finally:
            await badge.remove()
        await by_badge.goto(f"{web.url}/alarms")
        await expect(by_badge.get_by_role("button", name="Acknowledge")).to_have_count(1)

        accounts.add(USER, NAME, PASSWORD, badge="04FFFFFFFFFFFF")
        for tab in (by_badge, by_password):
            await tab.goto(f"{web.url}/alarms")
            await expect(tab.locator("#login-link")).to_be_visible()
            assert await tab.get_by_role("button", name="Acknowledge").count() == 0
