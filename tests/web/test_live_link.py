"""The page says when what it shows is not live: while its own link to the broker is down
(the lights and alarms it shows are frozen) and while the gateway is offline (nothing on the
shelves changes the page). Once both are back it says live again and follows the shelves, the
daemon restarted or not. A change that came as the page was opening, before its stream started,
is shown once the stream starts. Saying so never moves the top bar, on the tablet nor on a
phone: the mark there holds one short word, and why the page is not live is told in a strip at
the screen's foot."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

from playwright.async_api import Locator, Page, Route, expect

from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from sync.commands import with_envelope
from tests.conftest import Subscriber, buttons_read, eventually
from tests.edge.pick_rig import AMOX, PREFIX
from tests.web.page_rig import EXPIRED, NAME, TABLET, artifacts, page_rig
from tests.web.test_phone import PHONE

SECOND = 5_000  # ms: generous under load


def pick(pick_id: str) -> str:
    body = {"pick_id": pick_id, "lines": [{"gtin": AMOX, "quantity": 1}], "picker": "Ana"}
    return json.dumps(with_envelope(body))


async def test_the_page_says_it_is_not_live_while_the_broker_or_the_gateway_is_away(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    async with page_rig(tmp_path, broker) as web:
        tab = await web.tab()
        await tab.goto(f"{web.url}/shelves")
        link = tab.locator("#live-link")
        reason = tab.locator("#live-reason")
        a02 = tab.locator('.slot[data-slot="A-02"]')
        await expect(link).to_have_attribute("data-state", "live", timeout=SECOND)

        await broker.stop()
        await expect(link).to_have_attribute("data-state", "down", timeout=SECOND)
        await expect(reason).to_contain_text("Not live: the page's broker link is down")
        await expect(link).to_have_attribute("title", "not live: the page's broker link is down")
        await broker.start()
        await expect(link).to_have_attribute("data-state", "live", timeout=3 * SECOND)
        centre = subscribe(f"{PREFIX}/cmd-result")
        centre.publish(f"{PREFIX}/cmd/pick", pick("rx-1"))
        await expect(a02).to_have_attribute("data-on", "true", timeout=SECOND)

        rig = web.rig
        assert rig.gateway is not None
        config = rig.gateway.config
        rig.gateway.stop()
        await asyncio.wait_for(rig.task, 10)
        await expect(link).to_have_attribute("data-state", "down", timeout=SECOND)
        await expect(reason).to_contain_text("Not live: gateway offline")

        rig.gateway = Gateway(config, observer=rig.activity.append)
        rig.task = asyncio.create_task(rig.gateway.run())
        await eventually(rig.gateway.ready.is_set)
        await expect(link).to_have_attribute("data-state", "live", timeout=3 * SECOND)
        await buttons_read(rig.gateway)  # a press before is where its counting starts
        await rig.press("A-02")  # the list kept through the restart: its pack is taken
        await expect(a02).to_have_attribute("data-on", "false", timeout=SECOND)
        await expect(a02.locator(".holds")).to_have_text("empty", timeout=SECOND)


async def test_a_change_between_the_page_drawn_and_its_stream_started_is_shown(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """The ledger changes after the page was drawn and before its event stream started (a
    slow tablet, a busy gateway: the change's nudge went out to the streams open then): the
    stream's start tells the page so, and it shows the change at once, not what it was drawn
    with until the next change."""
    async with page_rig(tmp_path, broker) as web:
        live = web.page.state.live
        # Nothing but this test's own commit changes the ledger from here: no later nudge
        # makes up for the one the page missed.
        await web.rig.stop_daemon()
        await eventually(lambda: live.state.gateway_status == "offline", what="gateway offline")
        tab = await web.tab()
        asked, opened = asyncio.Event(), asyncio.Event()

        async def held(route: Route) -> None:
            asked.set()
            await opened.wait()
            await route.continue_()

        await tab.route("**/events", held)
        await tab.goto(f"{web.url}/shelves")
        on_hand = tab.locator('.slot[data-slot="A-01"] .on-hand')
        await expect(on_hand).to_have_text("3")
        await asyncio.wait_for(asked.wait(), 10)  # the page drawn, its stream not started

        watching = live.stream()  # the streams open meanwhile: the change's nudge reaches them
        await anext(watching)
        keeper = InventoryKeeper(web.rig.db, {}, "s1", "g1")
        put = Movement(
            MovementKind.PUT_AWAY, AMOX, 7, batch="L", expiry="2030-12-31", to_slot="A-01"
        )
        keeper.commit([put])
        keeper.close()
        while b"event: ledger" not in await asyncio.wait_for(anext(watching), 10):
            pass
        await watching.aclose()

        opened.set()
        await expect(on_hand).to_have_text("10", timeout=SECOND)


async def test_a_tap_as_the_page_opens_is_not_moved_by_its_stream_starting(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """The top bar's mark is drawn, before the page's stream starts, no wider than "live": on
    the shelf's tablet the bar does not reflow as the stream starts, so a finger pressed on a
    button of a page just opened is still on it when lifted, and its form is sent."""
    async with page_rig(tmp_path, broker) as web:
        tab = await web.logged_in_tab()
        opened = asyncio.Event()

        async def held(route: Route) -> None:
            await opened.wait()
            await route.continue_()

        await tab.route("**/events", held)
        await tab.goto(f"{web.url}/alarms")
        link = tab.locator("#live-link")
        await expect(link).to_have_attribute("data-state", "connecting")
        acknowledge = tab.locator(f'tr[data-alarm="{EXPIRED}"]').get_by_role(
            "button", name="Acknowledge"
        )
        await acknowledge.hover()
        await tab.mouse.down()
        opened.set()
        await expect(link).to_have_attribute("data-state", "live", timeout=SECOND)
        await tab.mouse.up()
        await expect(tab.locator(".flash")).to_contain_text(f"acknowledged by {NAME}")


async def a_tap_lands_on_it(tab: Page, reason: Locator) -> bool:
    """Whether a tap in the middle of `reason` lands on it, not on what it hides."""
    box = await reason.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    return bool(
        await tab.evaluate(
            "([x, y]) => document.getElementById('live-reason')"
            ".contains(document.elementFromPoint(x, y))",
            [x, y],
        )
    )


async def test_the_bar_does_not_move_a_button_as_the_page_goes_not_live_and_back(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """On the shelf's tablet, and on a phone, the top bar keeps its height as the page goes not
    live and live again: a button under a finger stays where it was, while the reason the
    page is not live is shown in a strip at the screen's foot, which a tap on it does not go
    through (to a button it hides)."""
    async with page_rig(tmp_path, broker) as web:
        tab = await web.logged_in_tab()
        link = tab.locator("#live-link")
        reason = tab.locator("#live-reason")
        acknowledge = tab.locator(f'tr[data-alarm="{EXPIRED}"]').get_by_role(
            "button", name="Acknowledge"
        )

        async def where() -> float:
            box = await acknowledge.bounding_box()
            assert box is not None
            return box["y"]

        async def goes_away_and_back(
            why: str, away: Callable[[], Awaitable[None]], back: Callable[[], Awaitable[None]]
        ) -> None:
            await expect(link).to_have_attribute("data-state", "live", timeout=SECOND)
            await expect(reason).to_be_hidden()
            live = await where()
            await away()
            await expect(link).to_have_attribute("data-state", "down", timeout=SECOND)
            assert await where() == live, f"the bar moved the button as {why} went away"
            await expect(reason).to_be_visible()
            await expect(reason).to_contain_text(f"not live: {why}", ignore_case=True)
            await expect(reason).to_be_in_viewport()
            assert await a_tap_lands_on_it(tab, reason)  # a hidden button is not pressed
            size = tab.viewport_size
            assert size is not None
            shot = artifacts() / f"not-live-{size['width']}-{why.split()[-1]}.png"
            await tab.screenshot(path=str(shot))
            await back()
            await expect(link).to_have_attribute("data-state", "live", timeout=4 * SECOND)
            assert await where() == live, f"the bar moved the button as {why} came back"
            await expect(reason).to_be_hidden()

        for size in (TABLET, PHONE):
            await tab.set_viewport_size(size)
            await tab.goto(f"{web.url}/alarms")
            await goes_away_and_back("the page's broker link is down", broker.stop, broker.start)

        rig = web.rig
        assert rig.gateway is not None
        config = rig.gateway.config

        async def gateway_starts() -> None:
            rig.gateway = Gateway(config, observer=rig.activity.append)
            rig.task = asyncio.create_task(rig.gateway.run())
            await eventually(rig.gateway.ready.is_set)

        await tab.set_viewport_size(TABLET)
        await goes_away_and_back("gateway offline", rig.stop_daemon, gateway_starts)

        asleep = False

        async def network(route: Route) -> None:
            await (route.abort() if asleep else route.continue_())

        async def stream_breaks() -> None:
            nonlocal asleep
            asleep = True
            await tab.evaluate("window.stop()")  # its stream gone, and kept away

        async def stream_mends() -> None:
            nonlocal asleep
            asleep = False  # the browser opens it again by itself

        await tab.route("**/events", network)
        await goes_away_and_back("reconnecting", stream_breaks, stream_mends)
