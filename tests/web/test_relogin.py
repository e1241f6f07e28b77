"""Logging in again after an action was refused for want of a login (the login ended while the
form stayed on screen: idle, or logged out in another window) goes back to the view the form
was on, never to the action's own address, which answers only forms; a `next` that is no page
to look at goes to the view the action belongs to."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import expect

from edge.demo.local_broker import LocalBroker
from tests.web.page_rig import EXPIRED, PASSWORD, USER, page_rig


async def test_logging_in_again_after_a_refused_action_goes_back_to_its_view(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker) as web:
        tab = await web.logged_in_tab()
        for view, button in (
            ("/alarms", "Acknowledge"),
            ("/alarms", "Write off"),
            ("/stocktake", "Start"),
        ):
            await tab.goto(f"{web.url}{view}")
            form_button = tab.get_by_role("button", name=button).first
            await expect(form_button).to_be_visible()
            web.page.state.sessions.end_all_of(USER)  # the login ended meanwhile
            await form_button.click()
            await expect(tab.locator(".problem")).to_contain_text("log in first")
            await tab.locator("#login-link").click()
            await tab.fill("#user", USER)
            await tab.fill("#password", PASSWORD)
            await tab.click("form.login button")
            await expect(tab.locator("#who")).to_be_visible()
            assert tab.url == f"{web.url}{view}", button
            await expect(tab.locator("h1")).to_have_text(view[1:].capitalize())


async def test_a_next_that_is_no_page_to_look_at_goes_to_the_view_of_its_action(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker) as web:
        tab = await web.tab()
        for wanted, went in (
            ("/alarms", "/alarms"),
            (f"/alarms/{EXPIRED}/ack", "/alarms"),
            ("/picks/rx%2F2026%2F1/cancel", "/picks"),
            ("/stocktake/start", "/stocktake"),
            ("/stocktake/end", "/stocktake"),
            ("/stocktake/st-1/confirm", "/stocktake/st-1"),
            ("/procurement/r-1/confirm", "/procurement"),
            ("/write-off", "/"),
            ("/logout", "/"),
            ("/find?q=amox", "/find?q=amox"),
        ):
            await tab.goto(f"{web.url}/login?next={wanted.replace('%', '%25')}")
            token = await tab.locator('form.login input[name="csrf"]').get_attribute("value")
            sent = await tab.locator('form.login input[name="next"]').get_attribute("value")
            assert sent == wanted
            form = {"csrf": token or "", "user": USER, "password": PASSWORD, "next": wanted}
            answer = await tab.request.post(f"{web.url}/login", form=form, max_redirects=0)
            assert answer.status == 303, wanted
            assert answer.headers["location"] == went, wanted
            await tab.context.clear_cookies()
