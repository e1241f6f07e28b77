"""Two people, two screens, one thing to act on: each is told what the ledger holds of their
own click. A screen that had not redrawn yet (no script, or not fetched again) acknowledging
an alarm someone already acknowledged is told who did, not that it was them; two screens
confirming one stocktake report at the same moment are not both told that they booked it; a
report left open shows its count once the sweep ends, and who confirmed it elsewhere; a sweep
ended from a screen that still shows an earlier one is not the newer one."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from playwright.async_api import Page, expect

from edge.demo.local_broker import LocalBroker
from tests.web.page_rig import EXPIRED, NAME, NAME2, USER2, Shared, page_rig

SECOND = 5_000  # ms: generous under load


def acknowledged_by(db: Path, alarm_id: str) -> str | None:
    with sqlite3.connect(db) as ledger:
        row = ledger.execute("SELECT acknowledged_by FROM alarms WHERE id = ?", (alarm_id,))
        return row.fetchone()[0]  # type: ignore[no-any-return]


def confirmed_by(db: Path, stocktake_id: str) -> str | None:
    with sqlite3.connect(db) as ledger:
        row = ledger.execute(
            "SELECT confirmed_by FROM stocktakes WHERE stocktake_id = ?", (stocktake_id,)
        )
        return row.fetchone()[0]  # type: ignore[no-any-return]


async def test_acknowledging_an_alarm_already_acknowledged_names_who_did(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker) as web:
        ana = await web.logged_in_tab()
        bea = await web.logged_in_tab(USER2, script=False)  # her page does not redraw itself
        for tab in (ana, bea):
            await tab.goto(f"{web.url}/alarms")
        await (
            ana.locator(f'tr[data-alarm="{EXPIRED}"]')
            .get_by_role("button", name="Acknowledge")
            .click()
        )
        await expect(ana.locator(".flash")).to_contain_text(f"acknowledged by {NAME}")

        await (
            bea.locator(f'tr[data-alarm="{EXPIRED}"]')
            .get_by_role("button", name="Acknowledge")
            .click()
        )
        flash = bea.locator(".flash")
        await expect(flash).to_contain_text(f"already acknowledged by {NAME}", timeout=SECOND)
        await expect(flash).not_to_contain_text(f"acknowledged by {NAME2}")
        assert acknowledged_by(web.rig.db, EXPIRED) == NAME


async def test_two_screens_confirming_one_report_at_once_are_each_told_their_own_answer(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker) as web:
        ana = await web.logged_in_tab()
        bea = await web.logged_in_tab(USER2)
        await ana.goto(f"{web.url}/stocktake")
        await ana.get_by_role("button", name="Start").click()
        await expect(ana.locator(".flash")).to_contain_text("started", timeout=SECOND)
        await web.handheld_reads_the_shelf()
        await ana.get_by_role("button", name="End the running sweep").click()
        await expect(ana.locator(".flash")).to_contain_text("ended", timeout=SECOND)
        link = ana.locator("#stocktakes tbody tr a").first
        stocktake_id = await link.inner_text()

        async def lift(tab: Page) -> str:
            """The finger on the tab's Confirm lifted: the form is sent; what the page said."""
            await tab.mouse.up()
            await expect(tab.locator(".flash")).to_be_visible(timeout=3 * SECOND)
            return await tab.locator(".flash").inner_text()

        # Both press Confirm before either lifts a finger: a screen told meanwhile that the
        # other booked the report does not redraw under the finger, and its tap sends all the
        # same (a click begun after its redraw would find no Confirm there).
        for tab in (ana, bea):
            await tab.goto(f"{web.url}/stocktake/{stocktake_id}")
            await tab.get_by_role("button", name="Confirm: book the differences").hover()
            await tab.mouse.down()
        answers = await asyncio.gather(lift(ana), lift(bea))
        said = dict(zip((NAME, NAME2), answers, strict=True))
        booked = confirmed_by(web.rig.db, stocktake_id)
        assert booked in said
        assert said[booked] == f"Stocktake {stocktake_id} confirmed by {booked}: " + (
            "its differences are booked."
        )
        other = NAME2 if booked == NAME else NAME
        assert said[other].startswith("Not done:"), said
        assert "is confirmed" in said[other]


async def test_a_report_left_open_shows_its_count_and_who_confirmed_it_elsewhere(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker) as web:
        ana = await web.logged_in_tab()
        bea = await web.logged_in_tab(USER2)
        await bea.goto(f"{web.url}/stocktake")
        await bea.get_by_role("button", name="Start").click()
        await expect(bea.locator(".flash")).to_contain_text("started", timeout=SECOND)
        link = bea.locator("#stocktakes tbody tr a").first
        await ana.goto(web.url + (await link.get_attribute("href") or ""))
        await expect(ana.locator("[data-sweep-running]")).to_be_visible()
        confirm = ana.get_by_role("button", name="Confirm: book the differences")
        await expect(confirm).to_have_count(0)

        await web.handheld_reads_the_shelf()
        await bea.get_by_role("button", name="End the running sweep").click()
        await expect(bea.locator(".flash")).to_contain_text("ended", timeout=SECOND)
        said = ana.locator("#report > p").first
        await expect(said).to_contain_text("packs seen of", timeout=SECOND)
        await expect(confirm).to_have_count(1)

        await bea.goto(web.url + (await link.get_attribute("href") or ""))
        await bea.get_by_role("button", name="Confirm: book the differences").click()
        await expect(bea.locator(".flash")).to_contain_text(f"confirmed by {NAME2}")
        await expect(said).to_contain_text(f"confirmed by {NAME2}", timeout=SECOND)
        await expect(confirm).to_have_count(0)


async def test_ending_a_sweep_from_a_screen_not_redrawn_ends_that_sweep_not_a_newer_one(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """The End button is offered while a sweep runs (following it live) and names the sweep
    the screen shows: a sweep started since elsewhere is not ended by it."""
    async with page_rig(tmp_path, broker) as web:
        ana = await web.logged_in_tab()
        bea = await web.logged_in_tab(USER2)
        await ana.goto(f"{web.url}/stocktake")
        end = ana.get_by_role("button", name="End the running sweep")
        await expect(end).to_have_count(0)
        await bea.goto(f"{web.url}/stocktake")
        await bea.get_by_role("button", name="Start").click()
        await expect(bea.locator(".flash")).to_contain_text("started", timeout=SECOND)
        await expect(end).to_have_count(1, timeout=SECOND)  # ana's screen follows
        form = ana.locator("form.end-sweep")
        shown = await form.evaluate("f => Object.fromEntries(new FormData(f))")
        first = shown["stocktake_id"]

        await bea.get_by_role("button", name="End the running sweep").click()
        await expect(bea.locator(".flash")).to_contain_text("abandoned", timeout=SECOND)
        await expect(end).to_have_count(0, timeout=SECOND)
        await bea.get_by_role("button", name="Start").click()
        await expect(bea.locator(".flash")).to_contain_text("started", timeout=SECOND)
        gateway = web.rig.gateway
        assert gateway is not None
        sweep = gateway.stocktake.sweep
        assert sweep is not None and sweep.stocktake_id != first

        # Ana's form, sent as drawn before the second sweep began: refused, the second runs on.
        answer = await ana.request.post(f"{web.url}/stocktake/end", form=shown)
        assert f"Not done: the running stocktake is {sweep.stocktake_id}" in await answer.text()
        assert gateway.stocktake.sweep is sweep


async def test_every_test_meets_the_shared_chromium_without_an_earlier_tests_windows(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """The page's tests of a process share one Chromium; the windows a test opened in it (its
    logins' cookies and storage) are closed when its rig ends, never met by the next test."""
    async with page_rig(tmp_path, broker) as web:
        assert web.browser is Shared.browser
        assert web.browser.contexts == []
        await web.logged_in_tab()
        assert len(web.browser.contexts) == 1
    assert web.browser.is_connected() and web.browser.contexts == []
