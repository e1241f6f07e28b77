"""Two people, two screens, one thing to act on: each is told what the ledger holds of their
own click. A screen that had not redrawn yet (no script, or not fetched again) acknowledging
an alarm someone already acknowledged is told who did, not that it was them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from playwright.async_api import expect

from edge.demo.local_broker import LocalBroker
from tests.web.page_rig import EXPIRED, NAME, NAME2, USER2, page_rig

SECOND = 5_000  # ms: generous under load


def acknowledged_by(db: Path, alarm_id: str) -> str | None:
    with sqlite3.connect(db) as ledger:
        row = ledger.execute("SELECT acknowledged_by FROM alarms WHERE id = ?", (alarm_id,))
        return row.fetchone()[0]  # type: ignore[no-any-return]


async def test_acknowledging_an_alarm_already_acknowledged_names_who_did(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker) as web:
        ana = await web.logged_in_tab()
        bea = await web.logged_in_tab(USER2, script=False)  # her page does not redraw itself
        for tab in (ana, bea):
            await tab.goto(f"{web.url}/alarms")
        await ana.locator(f'tr[data-alarm="{EXPIRED}"]').get_by_role("button").click()
        await expect(ana.locator(".flash")).to_contain_text(f"acknowledged by {NAME}")

        await bea.locator(f'tr[data-alarm="{EXPIRED}"]').get_by_role("button").click()
        flash = bea.locator(".flash")
        await expect(flash).to_contain_text(f"already acknowledged by {NAME}", timeout=SECOND)
        await expect(flash).not_to_contain_text(f"acknowledged by {NAME2}")
        assert acknowledged_by(web.rig.db, EXPIRED) == NAME
