"""Every view of the page renders in Chromium with what the ledger holds: a slot's stock lines
and history, find by GTIN, by name and by a pasted DataMatrix (usable packs first, in FEFO
order; bad input named), expiring on the site's calendar, a stocktake started, ended and
confirmed from the page, the procurement list and health; on a phone, none wider than the
screen. A screenshot of each is kept as a test artifact. The Expiring list counts every pack,
however many serialized packs a batch has, and says how many lines it leaves out when there are
more than it shows."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import expect

from edge.demo.local_broker import LocalBroker
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from tests.edge.pick_rig import AMOX, IBU
from tests.web.page_rig import EXPIRED, NAME, artifacts, page_rig

SECOND = 5_000
PHONE = {"width": 360, "height": 740}
SMALL_TABLET = {"width": 768, "height": 1024}
# The menu's links, Log in/Log out and every button shown, each under 44 px tall.
SHORT_TARGETS = """[...document.querySelectorAll("nav a, #login-link, button")]
  .filter((el) => el.offsetParent !== null && el.getBoundingClientRect().height < 44)
  .map((el) => el.textContent.trim() + " " + el.getBoundingClientRect().height)"""
VIEWS = (
    "/shelves",
    "/slots/A-04",
    "/picks",
    "/deliveries",
    "/alarms",
    "/find?q=amoxicillin",
    "/expiring?days=3000",
    "/stocktake",
    "/procurement",
    "/health",
    "/login",
)
SERIALIZED = 1_500  # packs of one batch, each with its serial: more rows than a line holds
MORE_BATCHES = 250  # lines beyond what the list shows


async def test_every_view_shows_what_the_ledger_holds(tmp_path: Path, broker: LocalBroker) -> None:
    async with page_rig(tmp_path, broker) as web:
        tab = await web.logged_in_tab()

        async def view(path: str, heading: str, shot: str) -> None:
            await tab.goto(web.url + path)
            await expect(tab.locator("h1")).to_contain_text(heading)
            await tab.screenshot(path=str(artifacts() / f"{shot}.png"), full_page=True)

        await view("/shelves", "Shelves", "view-shelves")
        await tab.click('.slot[data-slot="A-04"]')
        await expect(tab.locator("h1")).to_have_text("Slot A-04")
        lines = tab.locator("table").first
        await expect(lines).to_contain_text("HELD")
        await expect(lines).to_contain_text("quarantined")
        await expect(tab.locator("table").nth(1)).to_contain_text("quarantine")
        await tab.screenshot(path=str(artifacts() / "view-slot.png"), full_page=True)

        await view("/find?q=4012345123456", "Find", "view-find-gtin13")
        answer = tab.locator('[data-gtin="04012345123456"]')
        batches = await answer.locator("tbody tr td:nth-child(2)").all_inner_texts()
        assert [b.split()[0] for b in batches] == ["EARLY", "LATE", "OLD", "HELD", "BAD"]
        await expect(answer).to_contain_text("4 pack(s) usable")
        await expect(answer.locator("tr.usable")).to_have_count(2)
        await view("/find?q=ibupro", "Find", "view-find-name")
        await expect(tab.locator('[data-gtin="04012345000016"] tr.usable')).to_have_count(2)
        await tab.fill("#q", "0104012345000016" + "17300531" + "10I2")
        await tab.click("form.search button")
        await expect(tab.locator("tr.scanned")).to_contain_text("I2")
        await tab.fill("#q", "04012345123457")
        await tab.click("form.search button")
        await expect(tab.locator(".problem")).to_contain_text("wrong check digit")
        await tab.fill("#q", "ibuprofen")
        await tab.click("form.search button")
        await tab.get_by_role("button", name="Light the slots").click()
        await expect(tab.locator(".flash")).to_contain_text("A-06", timeout=SECOND)

        await view("/expiring?days=30", "Expiring", "view-expiring")
        await expect(tab.locator("#expired + .table-box")).to_contain_text("OLD")
        await expect(tab.locator("#quarantined + .table-box")).to_contain_text("HELD")
        await expect(tab.locator("#soon + .table-box")).to_contain_text("None.")
        await view("/expiring?days=2000", "Expiring", "view-expiring-long")
        await expect(tab.locator("#soon + .table-box")).to_contain_text("EARLY")

        await view("/stocktake", "Stocktake", "view-stocktake")
        await tab.get_by_role("button", name="Start").click()
        await expect(tab.locator(".flash")).to_contain_text("of shelf A started", timeout=SECOND)
        running = tab.locator("#stocktakes tbody tr").first
        await expect(running).to_contain_text("sweep in progress since", timeout=SECOND)
        await expect(running.locator("td").nth(3)).to_have_text("not yet")  # Ended
        await running.locator("a").click()
        await expect(tab.locator("[data-sweep-running]")).to_be_visible()
        await view("/stocktake", "Stocktake", "view-stocktake-running")
        await web.handheld_reads_the_shelf()
        await tab.get_by_role("button", name="End the running sweep").click()
        await expect(tab.locator(".flash")).to_contain_text("ended", timeout=SECOND)
        report = tab.locator("#stocktakes tbody tr").first
        await expect(report).to_contain_text("to confirm", timeout=SECOND)
        await report.locator("a").click()
        await expect(tab.locator("h1")).to_contain_text(f"shelf A, by {NAME}")
        # The handheld read A-01's location tag alone: the other slots were not counted.
        await expect(tab.locator("[data-not-counted]")).to_contain_text("A-02, A-03, A-04")
        await expect(tab.locator("tr.not-counted", has_text="A-02")).to_have_count(1)
        await expect(tab.locator("tr.not-counted", has_text="A-01")).to_have_count(0)
        await expect(tab.get_by_role("link", name="EPCIS 2.0 document")).to_be_visible()
        href = await tab.get_by_role("link", name="EPCIS 2.0 document").get_attribute("href")
        document = await tab.request.get(f"{web.url}{href}")
        assert document.headers["content-type"] == "application/ld+json"
        assert (await document.json())["type"] == "EPCISDocument"
        await tab.screenshot(path=str(artifacts() / "view-stocktake-report.png"), full_page=True)
        await tab.get_by_role("button", name="Confirm: book the differences").click()
        await expect(tab.locator(".flash")).to_contain_text("confirmed by", timeout=SECOND)
        await expect(tab.locator("#report > p").first).to_contain_text(f"confirmed by {NAME}")

        await view("/procurement", "Procurement", "view-procurement")
        await view("/health", "Health", "view-health")
        await expect(tab.locator(".facts")).to_contain_text("online")
        await expect(tab.locator('tr[data-device="A"]')).to_contain_text("up")
        await expect(tab.locator(".facts")).to_contain_text("last check passed")
        await view("/picks", "Pick lists", "view-picks")
        await view("/alarms", "Alarms", "view-alarms")
        await tab.goto(f"{web.url}/slots/Z-99")
        await expect(tab.locator(".problem")).to_contain_text("no slot 'Z-99'")
        answer = await tab.goto(f"{web.url}/stocktake/st-none/epcis")
        assert answer is not None and answer.status == 404
        await expect(tab.locator(".problem")).to_contain_text("no stocktake 'st-none'")
        # The live part alone (what a page fetches when its feeds change), for staff logged in:
        # with their forms (acknowledge the raised alarm, cancel a list) and the shared tables.
        for path in ("/alarms", "/procurement", "/stocktake", "/slots/A-04", "/picks", "/health"):
            part = await tab.request.get(f"{web.url}{path}?part=live")
            assert part.status == 200, path
        for path in ("/expiring?days=2000", "/find?q=ibuprofen"):
            part = await tab.request.get(f"{web.url}{path}&part=live")
            assert part.status == 200, path
        live_alarms = await (await tab.request.get(f"{web.url}/alarms?part=live")).text()
        assert f'action="/alarms/{EXPIRED}/ack"' in live_alarms


async def test_the_page_loads_nothing_from_another_host(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker) as web:
        tab = await web.tab()
        asked: list[str] = []
        tab.on("request", lambda request: asked.append(request.url))
        answer = await tab.goto(f"{web.url}/shelves")
        assert answer is not None
        headers = answer.headers
        assert "default-src 'self'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        await expect(tab.locator("#live-link")).to_have_attribute("data-state", "live")
        assert asked and all(url.startswith(web.url) for url in asked), asked


async def test_on_a_phone_no_view_is_wider_than_the_screen(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """A phone or a small tablet shows every view without panning the whole page: a wide
    table scrolls in its own box, and its buttons (acknowledge an alarm) are reached and work
    there; every link of the menu and every button is at least 44 px tall, for a finger."""
    async with page_rig(tmp_path, broker) as web:
        tab = await web.logged_in_tab()
        for screen in (SMALL_TABLET, PHONE):
            await tab.set_viewport_size(screen)
            for path in VIEWS:
                await tab.goto(web.url + path)
                wide = await tab.evaluate("document.documentElement.scrollWidth")
                assert wide <= screen["width"], (
                    f"{path} is {wide} px wide on a {screen['width']} px screen"
                )
                short = await tab.evaluate(SHORT_TARGETS)
                assert short == [], f"{path}: touch targets under 44 px tall: {short}"
        await tab.goto(f"{web.url}/alarms")
        await tab.screenshot(path=str(artifacts() / "phone-alarms.png"), full_page=True)
        await tab.get_by_role("button", name="Acknowledge").click()
        await expect(tab.locator(".flash")).to_contain_text(f"acknowledged by {NAME}")


def put_away(db: Path, movements: list[Movement]) -> None:
    keeper = InventoryKeeper(db, {}, "s1", "g1")
    keeper.commit(movements)
    keeper.close()


def pack(
    gtin: str, batch: str, expiry: str, slot: str, quantity: int = 1, serial: str = ""
) -> Movement:
    return Movement(
        MovementKind.PUT_AWAY,
        gtin,
        quantity,
        serial=serial,
        batch=batch,
        expiry=expiry,
        to_slot=slot,
    )


async def test_every_serialized_pack_is_counted_and_lines_left_out_are_said(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker) as web:
        await web.rig.stop()  # the ledger is written here, as the daemon would have
        tab = await web.tab()
        await tab.goto(f"{web.url}/expiring?days=3650")
        rows = tab.locator("#expiring tbody tr:not(:has(.quiet))")
        before = await rows.count()
        serialized = [
            pack(AMOX, "SER", "2031-06-30", "A-08", serial=f"S{n:05d}") for n in range(SERIALIZED)
        ]
        put_away(web.rig.db, [*serialized, pack(IBU, "SEVEN", "2031-07-31", "A-07", 7)])

        await tab.reload()
        await expect(rows).to_have_count(before + 2)
        await expect(tab.locator("tr", has_text="SER").locator("td.num")).to_have_text(
            str(SERIALIZED)
        )
        await expect(tab.locator("tr", has_text="SEVEN").locator("td.num")).to_have_text("7")
        await expect(tab.locator("#left-out")).to_have_count(0)

        put_away(
            web.rig.db,
            [pack(IBU, f"B{n:03d}", "2032-01-31", "A-06") for n in range(MORE_BATCHES)],
        )
        await tab.reload()
        await expect(rows).to_have_count(200)
        await expect(tab.locator("#left-out")).to_contain_text(
            "Only the earliest 200 lines are shown: more are due than that"
        )
        await expect(tab.locator("#left-out")).to_contain_text("Ask for fewer days")
