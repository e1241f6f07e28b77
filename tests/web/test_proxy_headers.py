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


async def test_behind_a_proxy_that_names_the_host_asked_for_actions_are_taken(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """nginx sends its upstream's address as `Host` (127.0.0.1:port): the browser's `Origin`
    is checked against the `X-Forwarded-Host` it passes on, and another site's still fails."""
    async with page_rig(tmp_path, broker, web={"behind_proxy": True}) as web:
        tab = await web.logged_in_tab()
        await tab.goto(f"{web.url}/alarms")
        token = await tab.locator('input[name="csrf"]').first.get_attribute("value")
        session = next(c for c in await tab.context.cookies() if c["name"] == "rxedge_session")
        cookie = f"rxedge_session={session['value']}"
        proxied = {"x-forwarded-host": "gw.pharmacy.lan:8443", "x-forwarded-proto": "https"}
        evil = await web.post(
            "/logout", {"csrf": str(token)}, cookie, "https://evil.example", proxied
        )
        assert evil[0] == 403 and "another site" in evil[1]
        status, body = await web.post(
            "/logout", {"csrf": str(token)}, cookie, "https://gw.pharmacy.lan:8443", proxied
        )
        assert status in (200, 303) and "another site" not in body


async def test_without_behind_proxy_a_forwarded_host_is_not_taken(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker) as web:
        tab = await web.logged_in_tab()
        session = next(c for c in await tab.context.cookies() if c["name"] == "rxedge_session")
        cookie = f"rxedge_session={session['value']}"
        status, body = await web.post(
            "/logout",
            {},
            cookie,
            "https://gw.pharmacy.lan",
            {"x-forwarded-host": "gw.pharmacy.lan"},
        )
        assert status == 403 and "another site" in body
