"""Requests without a cookie (each one is a new visitor, and gets a session) cannot log anyone
out: however many a script on the pharmacy's network sends, they push out only sessions
nobody has logged in to, never a pharmacist's login, also one whose tablet only shows views
(its live refreshes are not use). The page keeps 10,000 visitors' sessions; here, 100."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import expect

from edge.demo.local_broker import LocalBroker
from edge.web.sessions import Sessions
from tests.web.page_rig import NAME, NAME2, USER2, page_rig
from tests.web.raw_http import connections

VISITORS = 100  # anonymous sessions kept


async def test_a_flood_of_visits_without_a_cookie_logs_nobody_out(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker) as web, connections(web.url) as connect:
        state = web.page.state
        state.sessions = Sessions(
            state.sessions.idle_seconds, state.clock.monotonic, max_anonymous=VISITORS
        )
        desk = await web.logged_in_tab()
        tablet = await web.logged_in_tab(USER2)
        await tablet.goto(f"{web.url}/alarms")  # and shows it from now on, refreshing itself
        await expect(tablet.locator("#who")).to_have_text(NAME2)

        flood = await connect()
        first = ""
        for _ in range(VISITORS + 4):
            answer = await flood.request("GET", "/login")
            assert answer.status == 200
            first = first or answer.headers["set-cookie"].split(";")[0]
        # The flood was big enough: the first visitor's session is forgotten.
        again = await flood.request("GET", "/login", {"Cookie": first})
        assert again.headers["set-cookie"].split(";")[0] != first

        for tab, name in ((tablet, NAME2), (desk, NAME)):
            await tab.goto(f"{web.url}/alarms")
            await expect(tab.locator("#who")).to_have_text(name)
