"""Logging out ends the login, whichever of the browser's windows it is clicked in: a window
drawn before the person logged in again (its form carries an older token) logs out all the
same, and says so, instead of leaving the login open behind a page that looks logged out. A
login goes on only to a path of the page itself."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import expect

from edge.demo.local_broker import LocalBroker
from edge.web.sessions import Sessions
from tests.web.page_rig import PASSWORD, USER, page_rig


async def test_log_out_in_a_window_drawn_before_logging_in_again_ends_the_login(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker) as web:
        first = await web.logged_in_tab()
        await first.goto(f"{web.url}/alarms")
        second = await first.context.new_page()  # another window of the same browser
        await second.goto(f"{web.url}/login")
        await second.fill("#user", USER)
        await second.fill("#password", PASSWORD)
        await second.click("form.login button")
        await expect(second.locator("#who")).to_be_visible()

        cookies = await first.context.cookies()
        cookie = "rxedge_session=" + next(
            c["value"] for c in cookies if c["name"] == "rxedge_session"
        )
        status, body = await web.post("/logout", {}, cookie, origin="http://evil.example")
        assert status == 403 and "another site" in body, "another site cannot log anyone out"
        await second.reload()
        await expect(second.locator("#who")).to_be_visible()

        await first.get_by_role("button", name="Log out").click()
        await expect(first.locator("#login-link")).to_be_visible()
        await expect(first.locator(".flash")).to_contain_text("Logged out")
        await second.goto(f"{web.url}/alarms")
        await expect(second.locator("#login-link")).to_be_visible()
        assert await second.get_by_role("button", name="Acknowledge").count() == 0


async def test_an_open_page_stops_showing_the_name_once_its_login_ended_idle(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker) as web:
        now = [0.0]
        web.page.state.sessions = Sessions(2.0, lambda: now[0])  # idle logins end after 2 s
        tab = await web.logged_in_tab()
        await tab.goto(f"{web.url}/alarms")
        await expect(tab.locator("#who")).to_be_visible()
        await tab.evaluate("window.drawnOnce = true")
        now[0] += 10  # nobody at the screen
        # The page looks again just after the idle time, by itself: the name gives way to
        # Log in, on the same page (not loaded again: what it shows stays).
        await expect(tab.locator("#login-link")).to_be_visible(timeout=10_000)
        assert await tab.locator("#who").count() == 0
        assert await tab.evaluate("window.drawnOnce") is True
        href = await tab.locator("#login-link").get_attribute("href")
        assert href == "/login?next=%2Falarms"


async def test_after_logging_in_the_page_goes_only_to_a_path_of_its_own(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """A `next` a browser would read as another host (a tab or line break it drops, a
    backslash it reads as "/") sends the person to the page's start instead."""
    async with page_rig(tmp_path, broker) as web:
        tab = await web.tab()
        for wanted, went in (
            ("/find?q=amox", "/find?q=amox"),
            ("/\t/evil.example", "/"),
            ("/\n/evil.example", "/"),
            ("/\\evil.example", "/"),
            ("/alarms\\..\\..", "/"),
            ("//evil.example", "/"),
            ("https://evil.example/", "/"),
        ):
            await tab.goto(f"{web.url}/login")
            token = await tab.locator('form.login input[name="csrf"]').get_attribute("value")
            form = {"csrf": token or "", "user": USER, "password": PASSWORD, "next": wanted}
            answer = await tab.request.post(f"{web.url}/login", form=form, max_redirects=0)
            assert answer.status == 303, wanted
            assert answer.headers["location"] == went, wanted
