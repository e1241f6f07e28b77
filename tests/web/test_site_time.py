"""Times on the page are the site's: when an alarm was raised, when a pack moved, when a list
ended, when a request was made, a count ended or confirmed, the ledger last checked, what a
clock alarm says the clock read. The
ledger keeps UTC; a night-shift technician reads the clock on the wall, not UTC."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.async_api import expect

from edge.demo.local_broker import LocalBroker
from inventory.alarms.lifecycle import AlarmKind
from inventory.changes import RaiseAlarm
from tests.web.page_rig import EXPIRED, page_rig

ZONE = "Pacific/Kiritimati"  # UTC+14: a UTC time there is never the site's time


def site_time(stamp: str) -> str:
    moment = datetime.fromisoformat(stamp).astimezone(ZoneInfo(ZONE))
    return moment.strftime("%Y-%m-%d %H:%M +14:00")


def stored(db: Path, query: str) -> str:
    with sqlite3.connect(db) as ledger:
        return str(ledger.execute(query).fetchone()[0])


async def test_times_are_shown_on_the_sites_clock_not_in_utc(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker, timezone=ZONE) as web:
        db = web.rig.db
        tab = await web.logged_in_tab()
        await tab.goto(f"{web.url}/alarms")
        raised = stored(db, f"SELECT raised_at FROM alarms WHERE id = '{EXPIRED}'")
        row = tab.locator(f'tr[data-alarm="{EXPIRED}"]')
        await expect(row).to_contain_text(site_time(raised))
        await expect(tab.locator("thead")).not_to_contain_text("UTC")

        await tab.goto(f"{web.url}/slots/A-04")
        held = stored(db, "SELECT at FROM movements WHERE kind = 'quarantine' ORDER BY id")
        history = tab.locator("table").nth(1)
        await expect(history).to_contain_text(site_time(held))
        await expect(history).not_to_contain_text(held)

        await tab.goto(f"{web.url}/stocktake")
        await tab.get_by_role("button", name="Start").click()
        await expect(tab.locator(".flash")).to_contain_text("started", timeout=5_000)
        await web.handheld_reads_the_shelf()
        await tab.get_by_role("button", name="End the running sweep").click()
        report = tab.locator("#stocktakes tbody tr").first
        await expect(report).to_contain_text("to confirm", timeout=5_000)
        ended = stored(db, "SELECT ended_at FROM stocktakes")
        await expect(report).to_contain_text(site_time(ended))

        await tab.goto(f"{web.url}/health")
        await expect(tab.locator(".facts")).to_contain_text("last check passed")
        await expect(tab.locator(".facts")).to_contain_text("+14:00")
        await expect(tab.locator(".facts")).not_to_contain_text("UTC")


async def test_a_clock_behind_alarm_gives_both_times_on_the_sites_clock(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker, timezone=ZONE) as web:
        gateway = web.rig.gateway
        assert gateway is not None
        detail = {"clock": "2026-12-06T20:28:00.123Z", "newest_stamp": "2026-12-07T03:10:42.500Z"}
        await gateway.ledger.submit(RaiseAlarm(AlarmKind.CLOCK_BEHIND, "wall_clock", detail))
        tab = await web.tab()
        await tab.goto(f"{web.url}/alarms")
        about = tab.locator('tr[data-alarm="clock_behind-wall_clock"] td.about')
        await expect(about).to_contain_text(
            "the clock read 2026-12-07 10:28:00 +14:00, the ledger's newest is "
            "2026-12-07 17:10:42 +14:00"
        )
        await expect(about).not_to_contain_text("Z")
