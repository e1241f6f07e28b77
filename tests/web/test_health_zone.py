"""The page judges expiry on the site's date, as the daemon does: Health names the zone with
the site's clock now, and where `timezone` is left empty and the machine's $TZ is a POSIX
rule (not read, so UTC is used), it says so, as the daemon's journal and check-config do."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import expect

from edge.demo.local_broker import LocalBroker
from inventory.site_calendar import local_zone
from tests.web.page_rig import page_rig


async def test_health_warns_that_a_posix_tz_leaves_the_page_judging_in_utc(
    tmp_path: Path, broker: LocalBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "CST-8")
    async with page_rig(tmp_path, broker) as web:
        tab = await web.logged_in_tab()
        await tab.goto(f"{web.url}/health")
        problem = tab.locator("[data-zone-problem]")
        await expect(problem).to_have_count(1)
        await expect(problem).to_contain_text("timezone: $TZ is 'CST-8', not an IANA zone name")
        await expect(problem).to_contain_text(f"dates are judged in {local_zone()}")
        await expect(problem).to_contain_text('set timezone = "Area/City"')
        await expect(tab.locator("[data-zone]")).to_contain_text(f"{local_zone()}, now 20")


async def test_health_names_the_configured_zone_and_warns_of_nothing(
    tmp_path: Path, broker: LocalBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "CST-8")  # not read: the configured zone is the site's
    async with page_rig(tmp_path, broker, timezone="Australia/Sydney") as web:
        tab = await web.logged_in_tab()
        await tab.goto(f"{web.url}/health")
        clock = re.compile(r"Australia/Sydney, now \d{4}-\d\d-\d\d \d\d:\d\d \+1[01]:00")
        await expect(tab.locator("[data-zone]")).to_have_text(clock)
        await expect(tab.locator("[data-zone-problem]")).to_have_count(0)
