"""The page behind a reverse proxy on the same machine: with `web.behind_proxy` each browser is
known by the address the proxy forwards (one person's failed logins hold back only them);
without it, requests that came through a proxy are noticed, logged once and told on Health."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from edge.demo.local_broker import LocalBroker
from tests.web.page_rig import PASSWORD, USER, USER2, PageRig, page_rig


async def wrong_logins(web: PageRig, address: str, times: int) -> list[int]:
    cookie, csrf = await web.login_form()
    form = {"csrf": csrf, "user": USER, "next": "/", "password": "not it"}
    forwarded = {"x-forwarded-for": address}
    return [(await web.post("/login", form, cookie, headers=forwarded))[0] for _ in range(times)]


async def test_behind_a_proxy_failed_logins_hold_back_only_the_browser_that_made_them(
    tmp_path: Path, broker: LocalBroker
) -> None:
    settings = {"login_failures": 2, "behind_proxy": True}
    async with page_rig(tmp_path, broker, web=settings) as web:
        assert await wrong_logins(web, "192.0.2.7", 3) == [401, 401, 429]
        cookie, csrf = await web.login_form()
        # another person at another browser (the account tried is locked for everyone)
        form = {"csrf": csrf, "user": USER2, "next": "/", "password": PASSWORD}
        status, body = await web.post(
            "/login", form, cookie, headers={"x-forwarded-for": "192.0.2.8"}
        )
        assert status in (200, 303) and "Too many failed logins" not in body


async def test_a_proxy_the_page_was_not_told_of_is_logged_once_and_shown_on_health(
    tmp_path: Path, broker: LocalBroker, caplog: pytest.LogCaptureFixture
) -> None:
    async with page_rig(tmp_path, broker) as web:
        tab = await web.logged_in_tab()
        await tab.goto(f"{web.url}/health")
        assert await tab.locator("[data-proxy-problem]").count() == 0
        with caplog.at_level(logging.WARNING, logger="edge.web.pages"):
            await wrong_logins(web, "192.0.2.7", 2)
        assert caplog.text.count("behind_proxy = true") == 1
        await tab.goto(f"{web.url}/health")
        said = await tab.locator("[data-proxy-problem]").inner_text()
        assert "X-Forwarded-For" in said and "behind_proxy = true" in said
