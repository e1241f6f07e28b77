"""The page in a real headless Chromium against the daemon on simulated hardware: a pick sent
on MQTT lights its slot on the page's shelf map in the list's colour (and in words), a button
pressed on the shelf controller moves the pick list's progress, and the map returns to dark;
a stream a proxy answered with an error is opened again; a page left open over the site's
midnight judges expiry on the new day, also when its stream was away then (a tablet asleep);
a live part is not redrawn under a finger pressing a button in it, nor while someone types in
it, yet a box left focused does not freeze it; what was typed in a box stays across redraws,
focused or not, with its caret, and is what is sent."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from playwright.async_api import Page, Route, expect

from edge.demo.local_broker import LocalBroker
from inventory.alarms.lifecycle import AlarmKind
from inventory.changes import RaiseAlarm
from sync.commands import with_envelope
from tests.clocks import SteppedClock
from tests.conftest import Subscriber, eventually
from tests.edge.pick_rig import AMOX, PREFIX
from tests.web.page_rig import EXPIRED, NAME2, USER2, PageRig, artifacts, page_rig

SECOND = 5_000  # ms: generous under load; the benchmark measures the real figure
TYPING = 5_000  # ms: how long the page holds a part after the last keystroke or tap in it
FORM = f'tr[data-alarm="{EXPIRED}"] form.write-off[data-slot="A-03"]'
BOX = f'{FORM} input[name="quantity"]'
R1_DOWN = 'tr[data-alarm="device_down-r1"]'  # the row of the alarm web.device_down("r1") raises


async def alarms_live(web: PageRig) -> Page:
    """A logged-in tab on /alarms, its live stream open."""
    tab = await web.logged_in_tab()
    await tab.goto(f"{web.url}/alarms")
    await expect(tab.locator("#live-link")).to_have_attribute("data-state", "live")
    return tab


def slot(tab: Page, name: str):  # type: ignore[no-untyped-def]
    return tab.locator(f'.slot[data-slot="{name}"]')


async def test_a_pick_lights_its_slot_on_the_page_and_a_button_press_moves_the_list(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    centre = subscribe(f"{PREFIX}/cmd-result")
    async with page_rig(tmp_path, broker) as web:
        shelves = await web.tab()
        await shelves.goto(f"{web.url}/shelves")
        await expect(shelves.locator("#live-link")).to_have_attribute("data-state", "live")
        assert await shelves.locator(".slot").count() == 8
        await expect(slot(shelves, "A-01")).to_contain_text("Amoxicillin 500 mg")
        await expect(slot(shelves, "A-01").locator(".on-hand")).to_have_text("3")
        # The expired batch the daemon holds is red and slow on the shelf, and so on the page.
        await expect(slot(shelves, "A-03")).to_have_attribute("data-colour", "red")
        await expect(slot(shelves, "A-03").locator(".words")).to_have_text("red, blinking slowly")
        await expect(slot(shelves, "A-02")).to_have_attribute("data-on", "false")
        picks = await web.tab()
        await picks.goto(f"{web.url}/picks")
        await expect(picks.locator("#live-link")).to_have_attribute("data-state", "live")

        body = {"pick_id": "rx-100", "lines": [{"gtin": AMOX, "quantity": 2}], "picker": "Ana"}
        centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(body)))
        a02 = slot(shelves, "A-02")
        await expect(a02).to_have_attribute("data-on", "true", timeout=SECOND)
        await expect(a02).to_have_attribute("data-colour", "green")
        await expect(a02).to_have_attribute("data-mode", "steady")
        await expect(a02.locator(".number")).to_have_text("1")
        await expect(a02.locator(".words")).to_have_text("green, steady, shows 1")
        await expect(slot(shelves, "A-01").locator(".words")).to_have_text("green, steady, shows 1")
        await shelves.screenshot(path=str(artifacts() / "shelves-pick-lit.png"))

        row = picks.locator('[data-pick="rx-100"] tr[data-line="1"]')
        await expect(row.locator(".picked")).to_have_text("0", timeout=SECOND)
        await expect(picks.locator('[data-pick="rx-100"] .chip')).to_have_text("green")
        await web.rig.shelf.press(1)  # the earliest expiry first
        await expect(row.locator(".picked")).to_have_text("1", timeout=SECOND)
        await expect(picks.locator('[data-pick="rx-100"] .progress')).to_have_text("1 of 2 picked")
        await expect(a02).to_have_attribute("data-on", "false", timeout=SECOND)
        await expect(a02.locator(".holds")).to_have_text("empty", timeout=SECOND)
        await picks.screenshot(path=str(artifacts() / "picks-progress.png"), full_page=True)

        await web.rig.shelf.press(0)
        await expect(picks.locator('[data-pick="rx-100"]')).to_have_count(0, timeout=SECOND)
        await expect(picks.locator("table").last).to_contain_text("rx-100")
        await expect(slot(shelves, "A-01")).to_have_attribute("data-on", "false", timeout=SECOND)


async def test_the_page_goes_live_again_after_a_proxy_answered_its_stream_with_an_error(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    """Behind a reverse proxy, a restarting page is a 502 to the browser's stream, which the
    browser does not retry by itself: the page's script must open the stream again."""
    centre = subscribe(f"{PREFIX}/cmd-result")
    async with page_rig(tmp_path, broker) as web:
        shelves = await web.tab()
        refused: list[str] = []

        async def proxy(route: Route) -> None:
            if len(refused) < 2:  # the page is restarting behind the proxy
                refused.append(route.request.url)
                await route.fulfill(status=502, body="Bad Gateway")
            else:
                await route.continue_()

        await shelves.route("**/events", proxy)
        await shelves.goto(f"{web.url}/shelves")
        await expect(shelves.locator("#live-link")).to_have_attribute("data-state", "down")
        await expect(shelves.locator("#live-link")).to_have_attribute(
            "data-state", "live", timeout=4 * SECOND
        )
        assert len(refused) == 2
        body = {"pick_id": "rx-100", "lines": [{"gtin": AMOX, "quantity": 1}], "picker": "Ana"}
        centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(body)))
        await expect(slot(shelves, "A-02")).to_have_attribute("data-on", "true", timeout=SECOND)


def a_minute_before_midnight_in_shanghai() -> SteppedClock:
    """The page's clock, a minute before the site's midnight (UTC+8) of 2030-05-30."""
    clock = SteppedClock()
    clock.step((datetime(2030, 5, 30, 15, 59, tzinfo=UTC) - clock.now()).total_seconds())
    return clock


async def test_a_page_left_open_judges_expiry_on_the_new_day_after_the_sites_midnight(
    tmp_path: Path, broker: LocalBroker
) -> None:
    clock = a_minute_before_midnight_in_shanghai()
    async with page_rig(tmp_path, broker, page_clock=clock, timezone="Asia/Shanghai") as web:
        tab = await web.tab()
        await tab.goto(f"{web.url}/expiring?days=90")
        await expect(tab.locator("#live-link")).to_have_attribute("data-state", "live")
        row = tab.locator("#soon ~ .table-box tr", has_text="I2")  # expires 2030-05-31
        await expect(row).to_contain_text("1 d")
        await expect(tab.locator("[data-today]")).to_have_text("2030-05-30")
        clock.step(120)  # midnight passes; nothing else changes on the shelves
        await expect(tab.locator("[data-today]")).to_have_text("2030-05-31")
        await expect(row).to_contain_text("expires today")


async def test_a_tablet_that_slept_through_midnight_shows_the_new_day_once_back(
    tmp_path: Path, broker: LocalBroker
) -> None:
    clock = a_minute_before_midnight_in_shanghai()
    async with page_rig(tmp_path, broker, page_clock=clock, timezone="Asia/Shanghai") as web:
        tab = await web.tab()
        await tab.goto(f"{web.url}/expiring?days=90")
        link = tab.locator("#live-link")
        await expect(link).to_have_attribute("data-state", "live")
        row = tab.locator("#soon ~ .table-box tr", has_text="I2")  # expires 2030-05-31
        asleep = True

        async def network(route: Route) -> None:
            await (route.abort() if asleep else route.continue_())

        await tab.route("**/events", network)
        await tab.evaluate("window.stop()")  # asleep: its stream is gone, and stays away
        await expect(link).to_have_attribute("data-state", "down", timeout=SECOND)
        await expect(tab.locator("#live-reason")).to_contain_text("reconnecting")
        live = web.page.state.live
        told = live.generation
        clock.step(120)  # midnight passes while it sleeps: the page's `day` reaches nobody
        await eventually(lambda: live.generation != told, what="the day event sent")
        await expect(tab.locator("[data-today]")).to_have_text("2030-05-30")

        asleep = False  # awake: the stream comes back as the browser tries again
        await expect(link).to_have_attribute("data-state", "live", timeout=10 * SECOND)
        await expect(tab.locator("[data-today]")).to_have_text("2030-05-31")
        await expect(row).to_contain_text("expires today")


async def test_a_live_part_is_not_redrawn_under_a_finger(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """A change while someone presses a button in a live part: the part waits (data-waiting)
    until the pointer is lifted, then draws the newest."""
    async with page_rig(tmp_path, broker) as web:
        tab = await alarms_live(web)
        part = tab.locator("#alarms")
        await tab.evaluate(
            "() => { window.pressed = document.querySelector('#alarms button');"
            " window.pressed.dispatchEvent(new PointerEvent('pointerdown', {bubbles: true})); }"
        )
        await web.device_down("r1")
        await expect(part).to_have_attribute("data-waiting", "true", timeout=SECOND)
        assert await tab.evaluate("() => document.contains(window.pressed)")
        await expect(part.locator('tr[data-alarm="device_down-r1"]')).to_have_count(0)

        await tab.evaluate(
            "() => window.pressed.dispatchEvent(new PointerEvent('pointerup', {bubbles: true}))"
        )
        await expect(part.locator('tr[data-alarm="device_down-r1"]')).to_have_count(1)
        await expect(part).not_to_have_attribute("data-waiting", "true")
        assert not await tab.evaluate("() => document.contains(window.pressed)")


async def test_a_part_with_a_form_being_sent_waits_and_a_table_keeps_its_sideways_place(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """While a form in a live part is being sent, a change waits (its button would come back
    enabled, with a new id); once drawn, a table scrolled sideways in its box is where it was."""
    async with page_rig(tmp_path, broker) as web:
        tab = await alarms_live(web)
        # A box narrower than its table (the alarms are cards on a phone: narrowed here)
        await tab.evaluate(  # (the page's own style sheet: it allows no inline style)
            "() => document.styleSheets[0].insertRule("
            "'#alarms .table-box { max-width: 240px; }', document.styleSheets[0].cssRules.length)"
        )
        part = tab.locator("#alarms")
        scrolled = await tab.evaluate(
            "() => { const box = document.querySelector('#alarms .table-box');"
            " box.scrollLeft = 40; return box.scrollLeft; }"
        )
        assert scrolled > 0, "the alarms table is wider than its 240 px box"
        await tab.evaluate(
            "() => { document.querySelector('#alarms form').dataset.sent = 'true'; }"
        )
        await web.device_down("r1")
        await expect(part).to_have_attribute("data-waiting", "true", timeout=SECOND)
        await expect(part.locator('tr[data-alarm="device_down-r1"]')).to_have_count(0)

        await tab.evaluate(  # the sending over (its time ran out), then a tap elsewhere in it
            "() => { const form = document.querySelector('#alarms form');"
            " delete form.dataset.sent;"
            " form.dispatchEvent(new PointerEvent('pointerdown', {bubbles: true}));"
            " window.dispatchEvent(new PointerEvent('pointerup', {bubbles: true})); }"
        )
        await expect(part.locator('tr[data-alarm="device_down-r1"]')).to_have_count(1)
        after = await tab.evaluate("() => document.querySelector('#alarms .table-box').scrollLeft")
        assert after == scrolled


async def test_a_box_left_focused_does_not_freeze_its_part(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """A part waits while someone types in it (the top bar says so), not while a box is merely
    left focused (the keyboard put away, the tablet laid down): then it is redrawn, the box of
    the same row keeping the focus and what was typed; with its row gone, redrawn all the same."""
    async with page_rig(tmp_path, broker) as web:
        ana = await web.logged_in_tab()
        bea = await web.logged_in_tab(USER2, script=False)
        await ana.goto(f"{web.url}/alarms")
        await bea.goto(f"{web.url}/alarms")
        link = ana.locator("#live-link")
        await expect(link).to_have_attribute("data-state", "live", timeout=SECOND)
        row = ana.locator(f'tr[data-alarm="{EXPIRED}"]')
        await ana.locator(BOX).fill("3")  # typed, then left focused

        await (
            bea.locator(f'tr[data-alarm="{EXPIRED}"]')
            .get_by_role("button", name="Acknowledge")
            .click()
        )
        await expect(bea.locator(".flash")).to_contain_text(f"acknowledged by {NAME2}")
        # Just typed: the part waits, and the top bar does not say plain "live".
        await expect(link).to_have_attribute("data-state", "held", timeout=SECOND)
        await expect(link).to_have_attribute("title", "live, held while you type")
        await expect(row.locator("td.state")).to_contain_text("raised")

        # Nothing typed since: redrawn, the box of the same row still focused, 3 still in it.
        await expect(row.locator("td.state")).to_contain_text(
            f"acknowledged by {NAME2}", timeout=TYPING + SECOND
        )
        await expect(link).to_have_attribute("data-state", "live")
        assert await ana.evaluate(f"() => document.activeElement.matches('{BOX}')")
        await expect(ana.locator(BOX)).to_have_value("3")

        # The row gone meanwhile (its packs written off elsewhere): the part is redrawn anyway.
        await ana.locator(BOX).fill("2")
        await bea.goto(f"{web.url}/alarms")
        await bea.locator(FORM).get_by_role("button", name="Write off").click()
        await expect(bea.locator(".flash")).to_contain_text("0 held there still")
        await expect(row).to_have_count(0, timeout=TYPING + SECOND)
        await expect(link).to_have_attribute("data-state", "live")


async def test_a_quantity_typed_then_tabbed_past_is_the_one_written_off(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """2 typed in a box of 3 held packs, Tab to Write off, a redraw, Enter: 2 are written off."""
    async with page_rig(tmp_path, broker) as web:
        tab = await alarms_live(web)
        await tab.locator(BOX).fill("2")
        await tab.keyboard.press("Tab")
        await web.device_down("r1")
        await expect(tab.locator(R1_DOWN)).to_have_count(1, timeout=SECOND)
        assert await tab.evaluate(f"() => document.activeElement.matches('{FORM} button')")
        await expect(tab.locator(BOX)).to_have_value("2")
        await tab.keyboard.press("Enter")
        await expect(tab.locator(".flash")).to_contain_text("2 pack(s) of Amoxicillin")


async def test_a_redraw_while_typing_leaves_the_caret_where_it_was(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker) as web:
        tab = await alarms_live(web)
        await tab.locator(BOX).fill("12")
        await tab.keyboard.press("Home")
        await web.device_down("r1")
        await expect(tab.locator(R1_DOWN)).to_have_count(1, timeout=TYPING + SECOND)
        await tab.keyboard.type("3")
        await expect(tab.locator(BOX)).to_have_value("312")


async def test_a_box_left_keeps_what_was_typed_and_that_is_written_off(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """A box left (a tablet's Done, a tap elsewhere) keeps what was typed through a redraw."""
    async with page_rig(tmp_path, broker) as web:
        tab = await alarms_live(web)
        await tab.locator(BOX).fill("2")
        await tab.locator("h1").click()
        assert await tab.evaluate(f"() => !document.activeElement.matches('{BOX}')")
        await web.device_down("r1")
        await expect(tab.locator(R1_DOWN)).to_have_count(1, timeout=SECOND)
        await expect(tab.locator(BOX)).to_have_value("2")
        await tab.locator(FORM).get_by_role("button", name="Write off").click()
        await expect(tab.locator(".flash")).to_contain_text("2 pack(s) of Amoxicillin")


async def test_a_quantity_typed_in_one_of_two_alike_forms_stays_in_that_form(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """Two alarms about one batch each draw its held packs' write-off form, alike to the letter:
    what was typed in the upper one stays there across a redraw, the lower one as drawn."""
    async with page_rig(tmp_path, broker) as web:
        gateway = web.rig.gateway
        assert gateway is not None
        detail = {"gtin": "04012345123456", "batch": "OLD", "slot": "A-03"}
        subject = "04012345123456_OLD-taken"
        await gateway.ledger.submit(RaiseAlarm(AlarmKind.UNEXPECTED_REMOVAL, subject, detail))
        tab = await alarms_live(web)
        boxes = tab.locator('#alarms form.write-off[data-slot="A-03"] input[name="quantity"]')
        await expect(boxes).to_have_count(2)
        drawn = await boxes.nth(1).input_value()
        await boxes.nth(0).fill("2")
        await tab.locator("h1").click()  # the keyboard put away: the box no longer focused
        await web.device_down("r1")
        await expect(tab.locator(R1_DOWN)).to_have_count(1, timeout=SECOND)
        await expect(boxes.nth(0)).to_have_value("2")
        await expect(boxes.nth(1)).to_have_value(drawn)
