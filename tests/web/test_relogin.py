"""Logging in again after an action was refused for want of a login (the login ended while the
form stayed on screen: idle, or logged out in another window) goes back to the view the form
was on, never to the action's own address, which answers only forms; a `next` that is no page
to look at goes to the view the action belongs to."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

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
            ("/events", "/"),
            ("/static/rxedge.css", "/"),
            ("/stocktake/st-1/epcis", "/stocktake/st-1"),
            ("/alarms?part=live", "/alarms"),
            ("/expiring?days=30&part=live", "/expiring?days=30"),
        ):
            await tab.goto(f"{web.url}/login?next={quote(wanted, safe='/')}")
            token = await tab.locator('form.login input[name="csrf"]').get_attribute("value")
            sent = await tab.locator('form.login input[name="next"]').get_attribute("value")
            assert sent == wanted
            form = {"csrf": token or "", "user": USER, "password": PASSWORD, "next": wanted}
            answer = await tab.request.post(f"{web.url}/login", form=form, max_redirects=0)
            assert answer.status == 303, wanted
            assert answer.headers["location"] == went, wanted
            await tab.context.clear_cookies()


async def test_logging_in_from_a_view_asked_with_a_query_comes_back_to_it_with_the_query(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker) as web:
        tab = await web.tab()
        for view, heading in (("/expiring?days=30", "Expiring"), ("/find?q=omep", "Find")):
            await tab.goto(f"{web.url}{view}")
            await tab.locator("#login-link").click()
            await tab.fill("#user", USER)
            await tab.fill("#password", PASSWORD)
            await tab.click("form.login button")
            await expect(tab.locator("#who")).to_be_visible()
            assert tab.url == f"{web.url}{view}"
            await expect(tab.locator("h1")).to_contain_text(heading)
            await tab.get_by_role("button", name="Log out").click()
            await expect(tab.locator("#login-link")).to_be_visible()


async def test_a_refused_action_without_its_next_goes_back_to_the_view_it_came_from_with_its_query(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """A form without `next`: its referrer says where it came from, query and all."""
    view = "/expiring?days=3000"
    async with page_rig(tmp_path, broker) as web:
        tab = await web.logged_in_tab()
        await tab.goto(f"{web.url}{view}")
        line = tab.locator('tr[data-line="A-03/OLD"]')
        await line.locator('input[name="next"]').evaluate("(field) => field.remove()")
        web.page.state.sessions.end_all_of(USER)  # the login ended meanwhile
        await line.get_by_role("button", name="Write off").click()
        await expect(tab.locator(".problem")).to_contain_text("log in first")
        await expect(tab.get_by_role("link", name="Back")).to_have_attribute("href", view)
        await tab.locator("#login-link").click()
        await tab.fill("#user", USER)
        await tab.fill("#password", PASSWORD)
        await tab.click("form.login button")
        await expect(tab.locator("#who")).to_be_visible()
        assert tab.url == f"{web.url}{view}"


async def test_a_form_refused_as_from_another_site_offers_back_to_the_view_it_names(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """As when a reverse proxy passes on another host than the browser asked for."""
    async with page_rig(tmp_path, broker) as web:
        tab = await web.logged_in_tab()
        form = {"next": "/expiring?days=30", "gtin": "x", "batch": "x", "slot": "A-03"}
        answer = await tab.request.post(
            f"{web.url}/write-off", form=form, headers={"origin": "http://other.example"}
        )
        assert answer.status == 403
        back = re.search(r'<a href="([^"]*)">Back</a>', await answer.text())
        assert back is not None and back.group(1) == "/expiring?days=30"
