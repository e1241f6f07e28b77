"""Logins over plain HTTP, as a browser or a script sends them. Password guessing, as a script
on the pharmacy's network would try it: many wrong logins sent at once are limited like the
same sent one after another. "Log in" tapped twice: the second sending of the form comes with
the cookie and token the first one replaced (its answer had not arrived yet), or with the new
login's cookie (it had); either way the browser ends up logged in, not looking at "the form's
security token is missing or old" with its login overwritten. A login still gets a new
session id, and the old form is worth nothing to anyone else or later."""

from __future__ import annotations

import asyncio
import http.client
import urllib.parse
from pathlib import Path

from edge.demo.local_broker import LocalBroker
from edge.web.sessions import REPEATED_LOGIN_SECONDS, Sessions
from tests.web.page_rig import NAME, PASSWORD, USER, USER2, PageRig, page_rig

GUESSES = 24


async def test_wrong_logins_sent_at_once_are_limited_like_ones_sent_in_turn(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker, web={"login_failures": 3}) as web:
        cookie, csrf = await web.login_form()
        form = {"csrf": csrf, "user": USER, "next": "/"}
        answers = await asyncio.gather(
            *(
                web.post("/login", {**form, "password": f"guess {n}"}, cookie)
                for n in range(GUESSES)
            )
        )
        checked = [status for status, _ in answers if status == 401]
        assert len(checked) <= 3, f"{len(checked)} of {GUESSES} guesses were checked, not 3"
        assert {status for status, _ in answers} <= {401, 429}
        status, body = await web.post("/login", {**form, "password": PASSWORD}, cookie)
        assert status == 429 and "Too many failed logins" in body


Answer = tuple[int, str, str]  # status, where it sends the browser, the cookie it sets


async def send(web: PageRig, path: str, form: dict[str, str], cookie: str) -> Answer:
    """A form POST as a browser sends it, its answer as it arrives (no redirect followed)."""

    def post() -> Answer:
        where = urllib.parse.urlsplit(web.url)
        connection = http.client.HTTPConnection(where.netloc, timeout=10)
        try:
            headers = {"content-type": "application/x-www-form-urlencoded", "cookie": cookie}
            connection.request("POST", path, urllib.parse.urlencode(form), headers)
            answer = connection.getresponse()
            answer.read()
            cookie_set = (answer.getheader("set-cookie") or "").split(";")[0]
            return answer.status, answer.getheader("location") or "", cookie_set
        finally:
            connection.close()

    return await asyncio.to_thread(post)


async def logged_in_as(web: PageRig, cookie: str) -> bool:
    tab = await web.tab()
    name, _, value = cookie.partition("=")
    await tab.context.add_cookies([{"name": name, "value": value, "url": web.url}])
    await tab.goto(f"{web.url}/alarms")
    found = await tab.locator("#who").count() == 1 and await tab.locator("#who").inner_text()
    await tab.context.close()
    return found == NAME


async def test_login_tapped_twice_leaves_the_browser_logged_in(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker) as web:
        now = [0.0]
        web.page.state.sessions = Sessions(3600.0, lambda: now[0])
        drawn, token = await web.login_form()
        form = {"csrf": token, "user": USER, "password": PASSWORD, "next": "/alarms"}
        status, where, first = await send(web, "/login", form, drawn)
        assert (status, where) == (303, "/alarms") and first not in ("", drawn)

        # Sent again before the first answer arrived: with the cookie the login replaced.
        status, where, second = await send(web, "/login", form, drawn)
        assert (status, where) == (303, "/alarms"), status
        assert second not in ("", drawn, first), "a login's session id is always new"
        assert await logged_in_as(web, second)
        # Sent again after it arrived: with the login's own cookie, which stays as it is.
        status, where, kept = await send(web, "/login", form, first)
        assert (status, where, kept) == (303, "/alarms", "")
        assert await logged_in_as(web, first)

        # The old form is worth nothing otherwise: with another token, for another person on
        # the logged-in browser (who must not be taken for Ana), or later on.
        status, _, _ = await send(web, "/login", {**form, "csrf": "forged"}, drawn)
        assert status == 403
        status, _, kept = await send(web, "/login", {**form, "user": USER2}, first)
        assert (status, kept) == (403, "")
        assert await logged_in_as(web, first)
        now[0] += REPEATED_LOGIN_SECONDS + 1
        status, _, _ = await send(web, "/login", form, drawn)
        assert status == 403
