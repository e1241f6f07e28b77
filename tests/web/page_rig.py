"""The web page's rig: the pick-to-light rig (daemon, mosquitto, simulated reader, scanner and
shelf controller) with the page served beside it on a free port, an account, and a headless
Chromium (Debian's, driven by Playwright; never a downloaded browser). One Playwright driver and
one Chromium serve every test of a process (tests/web/conftest.py: starting them costs seconds),
each test in browser contexts of its own (cookies, storage, cache), all closed as it ends."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, Playwright, async_playwright

from edge.clock import Clock
from edge.demo.local_broker import LocalBroker
from edge.web.accounts import Accounts
from edge.web.server import RunningPage, start_page
from firmware_sim.tags import sgln96
from inventory.alarms.lifecycle import AlarmKind
from inventory.changes import RaiseAlarm
from tests.conftest import eventually
from tests.edge.pick_rig import Rig, start_rig, stop_rig

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
USER, NAME, PASSWORD = "ana", "Ana Ruiz", "correct horse battery"
USER2, NAME2 = "bea", "Bea Lind"  # a second pharmacist, same password
EXPIRED = "expired-04012345123456_OLD"  # the alarm raised at start: a pack past its expiry
TABLET = {"width": 1024, "height": 768}
REPO = Path(__file__).resolve().parents[2]


def artifacts() -> Path:
    """Where screenshots go (not committed): RXEDGE_ARTIFACTS, or tmp/artifacts/web."""
    where = Path(os.environ.get("RXEDGE_ARTIFACTS", REPO / "tmp" / "artifacts")) / "web"
    where.mkdir(parents=True, exist_ok=True)
    return where


class Shared:
    """The driver and browser of this test process while tests/web's session lasts, and the
    driver's own tasks (running as long as it does: not a test's leak)."""

    loop: asyncio.AbstractEventLoop | None = None
    playwright: Playwright | None = None
    browser: Browser | None = None
    tasks: frozenset[asyncio.Task[object]] = frozenset()


async def launch(playwright: Playwright) -> Browser:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: run `make setup` (scripts/bootstrap.sh)")
    return await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@asynccontextmanager
async def shared_chromium() -> AsyncIterator[None]:
    """Start the driver and Chromium for the tests of this process (the running loop must
    outlive them all), and stop them after."""
    before = asyncio.all_tasks()
    async with async_playwright() as playwright:
        Shared.browser = await launch(playwright)
        Shared.tasks = frozenset(asyncio.all_tasks() - before)
        Shared.loop, Shared.playwright = asyncio.get_running_loop(), playwright
        try:
            yield
        finally:
            browser, Shared.browser = Shared.browser, None
            Shared.loop = Shared.playwright = None
            if browser is not None:
                await browser.close()


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """The shared Chromium (started again if it went away), every context opened in it closed
    at the end; outside tests/web's shared loop, a Chromium of its own."""
    playwright = Shared.playwright
    if playwright is None or Shared.loop is not asyncio.get_running_loop():
        async with async_playwright() as own:
            browser = await launch(own)
            try:
                yield browser
            finally:
                await browser.close()
        return
    if Shared.browser is None or not Shared.browser.is_connected():
        Shared.browser = await launch(playwright)
    browser = Shared.browser
    try:
        yield browser
    finally:
        for context in list(browser.contexts):
            await context.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PageRig:
    rig: Rig
    page: RunningPage
    browser: Browser

    @property
    def url(self) -> str:
        return self.page.url

    async def tab(self, script: bool = True) -> Page:
        """A new browser window the size of the shelf's tablet (`script`: False for a browser
        that runs no script, where the page's forms work all the same)."""
        context = await self.browser.new_context(viewport=TABLET, java_script_enabled=script)
        return await context.new_page()

    async def logged_in_tab(self, user: str = USER, script: bool = True) -> Page:
        tab = await self.tab(script)
        await tab.goto(f"{self.url}/login")
        await tab.fill("#user", user)
        await tab.fill("#password", PASSWORD)
        await tab.click("form.login button")
        await tab.wait_for_selector("#who")
        return tab

    async def handheld_reads_the_shelf(self) -> None:
        """The handheld reads slot A-01's location tag until the running sweep has counted it
        (a sweep that read nothing has nothing to judge: it is abandoned when it ends)."""
        gateway = self.rig.gateway
        assert gateway is not None
        self.rig.handheld.present([sgln96("4012345", "00001", 1)])
        await eventually(
            lambda: (sweep := gateway.stocktake.sweep) is not None and sweep.reads > 0,
            what="the sweep's first read",
        )
        self.rig.handheld.present(())

    async def device_down(self, device: str) -> None:
        """A change in the ledger: an alarm raised that `device` is down (a row on /alarms)."""
        gateway = self.rig.gateway
        assert gateway is not None
        detail = {"device": device, "reason": "/dev/ttyUSB0 closed"}
        await gateway.ledger.submit(RaiseAlarm(AlarmKind.DEVICE_DOWN, device, detail))

    async def login_form(self) -> tuple[str, str]:
        """The login page fetched outside the browser: its session cookie and CSRF token."""

        def fetch() -> tuple[str, str]:
            with urllib.request.urlopen(f"{self.url}/login", timeout=10) as answer:
                cookie = answer.headers["set-cookie"].split(";")[0]
                found = re.search(r'name="csrf" value="([^"]+)"', answer.read().decode())
            assert found is not None
            return cookie, found.group(1)

        return await asyncio.to_thread(fetch)

    async def post(
        self,
        path: str,
        form: dict[str, str],
        cookie: str = "",
        origin: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        """A form POST outside the browser (status, body), as another site or a script would
        (on a thread: the page is served by this test's event loop); `headers` added."""
        return await asyncio.to_thread(self._post, path, form, cookie, origin, headers or {})

    def _post(
        self,
        path: str,
        form: dict[str, str],
        cookie: str,
        origin: str | None,
        extra: dict[str, str],
    ) -> tuple[int, str]:
        headers = {"content-type": "application/x-www-form-urlencoded", **extra}
        if cookie:
            headers["cookie"] = cookie
        if origin is not None:
            headers["origin"] = origin
        request = urllib.request.Request(
            self.url + path, urllib.parse.urlencode(form).encode(), headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()


@asynccontextmanager
async def page_rig(
    tmp_path: Path,
    broker: LocalBroker,
    web: dict[str, object] | None = None,
    page_clock: Clock | None = None,
    **overrides: object,
) -> AsyncIterator[PageRig]:
    """The rig and the page; `web` adds to the [web] section, `overrides` to the config;
    `page_clock`: the page's clock (the system's by default)."""
    users = tmp_path / "web-users.json"
    Accounts(users).add(USER, NAME, PASSWORD)
    Accounts(users).add(USER2, NAME2, PASSWORD)
    rig = await start_rig(
        tmp_path,
        broker,
        metrics={"listen": f"127.0.0.1:{free_port()}"},
        web={"listen": "127.0.0.1:0", "users_file": str(users), **(web or {})},
        **overrides,
    )
    assert rig.gateway is not None
    page = await start_page(rig.gateway.config, clock=page_clock)
    try:
        async with chromium() as browser:
            yield PageRig(rig, page, browser)
    finally:
        await page.stop()
        await stop_rig(rig)
