"""Acting from the page: acknowledging an alarm in the browser reaches the gateway as the
centre's command would, with the logged-in person's name on the ledger and on MQTT; an action
without a login, without the form's CSRF token or from another site's form is refused and sends
nothing; failed logins are limited; a login ends when nobody uses it; cancelling a pick list is
told as done; a click is told the answer to itself, or that none came yet."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.async_api import expect

from edge.demo.local_broker import LocalBroker
from edge.web.sessions import Sessions
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.pick_rig import AMOX, PREFIX, statuses
from tests.web.page_rig import EXPIRED, NAME, PASSWORD, USER, artifacts, page_rig

SECOND = 5_000  # ms: generous under load


def alarm_state(db: Path, alarm_id: str) -> tuple[str, str | None]:
    with sqlite3.connect(db) as ledger:
        row = ledger.execute(
            "SELECT state, acknowledged_by FROM alarms WHERE id = ?", (alarm_id,)
        ).fetchone()
    return row[0], row[1]


async def test_acknowledging_an_alarm_in_the_browser_reaches_mqtt_with_the_persons_name(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    watcher = subscribe(f"{PREFIX}/alarms/+", f"{PREFIX}/cmd/+")
    async with page_rig(tmp_path, broker) as web:
        tab = await web.logged_in_tab()
        await tab.goto(f"{web.url}/alarms")
        row = tab.locator(f'tr[data-alarm="{EXPIRED}"]')
        await expect(row.locator(".state")).to_have_text("raised")
        await tab.screenshot(path=str(artifacts() / "alarms.png"), full_page=True)
        await row.get_by_role("button", name="Acknowledge").click()
        await expect(tab.locator(".flash")).to_contain_text(f"acknowledged by {NAME}")
        await expect(row.locator(".state")).to_have_text(f"acknowledged by {NAME}")

        def acknowledged() -> bool:
            states = [
                json.loads(m.payload)
                for m in watcher.drain()
                if m.topic.endswith(f"/alarms/{EXPIRED}") and m.payload
            ]
            return bool(states) and states[-1]["state"] == "acknowledged"

        await eventually(acknowledged, what="the acknowledged alarm on MQTT")
        last = [m for m in watcher.drain() if m.topic.endswith(f"/alarms/{EXPIRED}")][-1]
        assert json.loads(last.payload)["acknowledged_by"] == NAME
        assert alarm_state(web.rig.db, EXPIRED) == ("acknowledged", NAME)
        sent = [json.loads(m.payload) for m in watcher.drain() if "/cmd/" in m.topic]
        assert [s["alarm_id"] for s in sent] == [EXPIRED]
        assert {"message_id", "expires_at"} <= set(sent[0]), "the command's envelope"


async def test_actions_without_login_csrf_token_or_from_another_site_are_refused(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    commands = subscribe(f"{PREFIX}/cmd/+")
    async with page_rig(tmp_path, broker) as web:
        before = web.rig.movement_count()
        path = f"/alarms/{EXPIRED}/ack"
        status, body = await web.post(path, {"csrf": "x"})
        assert status == 403 and "log in first" in body
        tab = await web.logged_in_tab()
        cookies = await tab.context.cookies()
        session = next(c for c in cookies if c["name"] == "rxedge_session")
        assert session["httpOnly"] and session["sameSite"] == "Strict"
        cookie = f"rxedge_session={session['value']}"
        status, body = await web.post(path, {}, cookie)
        assert status == 403 and "security token" in body
        status, body = await web.post(path, {"csrf": "not-the-token"}, cookie)
        assert status == 403 and "security token" in body
        await tab.goto(f"{web.url}/alarms")
        token = await tab.locator('input[name="csrf"]').first.get_attribute("value")
        assert token
        status, body = await web.post(path, {"csrf": token}, cookie, origin="http://evil.example")
        assert status == 403 and "another site" in body
        for cancel in (
            "/picks/rx-1/cancel",
            "/deliveries/D-1/end",
            "/find/locate",
            "/stocktake/start",
            "/write-off",
        ):
            answer = await web.post(cancel, {"gtin": "04012345123456", "shelf": "A"})
            assert answer[0] == 403
        # Nothing was sent and nothing changed; the browser's own form is still offered.
        assert commands.drain() == []
        assert alarm_state(web.rig.db, EXPIRED) == ("raised", None)
        assert web.rig.movement_count() == before
        await tab.goto(f"{web.url}/alarms")
        assert await tab.get_by_role("button", name="Acknowledge").count() == 1


async def test_failed_logins_are_limited_and_a_login_gets_a_new_session(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker) as web:
        tab = await web.tab()
        await tab.goto(f"{web.url}/login")
        before = next(c for c in await tab.context.cookies() if c["name"] == "rxedge_session")
        for _ in range(5):
            await tab.fill("#user", USER)
            await tab.fill("#password", "wrong password")
            await tab.click("form.login button")
            await expect(tab.locator(".problem")).to_contain_text("Wrong user name or password")
        await tab.fill("#user", USER)
        await tab.fill("#password", PASSWORD)
        await tab.click("form.login button")
        await expect(tab.locator(".problem")).to_contain_text("Too many failed logins")
        fresh = await web.tab()  # a new browser session is limited all the same
        await fresh.goto(f"{web.url}/login")
        await fresh.fill("#user", USER)
        await fresh.fill("#password", PASSWORD)
        await fresh.click("form.login button")
        await expect(fresh.locator(".problem")).to_contain_text("Too many failed logins")
        web.page.state.limiter.succeeded(f"user:{USER}")
        web.page.state.limiter.succeeded("address:127.0.0.1")
        await tab.goto(f"{web.url}/login")
        await tab.fill("#user", USER)
        await tab.fill("#password", PASSWORD)
        await tab.click("form.login button")
        await expect(tab.locator("#who")).to_have_text(NAME)
        after = next(c for c in await tab.context.cookies() if c["name"] == "rxedge_session")
        assert after["value"] != before["value"], "the session id changes at login"


@pytest.mark.parametrize("pick_id", ["rx-100", "rx/2026/000123"])
async def test_cancelling_a_pick_list_in_the_browser_says_it_was_cancelled(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber], pick_id: str
) -> None:
    """The gateway answers a cancel under the list's own command (`pick`, status cancelled):
    the page must take that as the answer, not wait for one named pick-cancel and say no. A
    list's id may hold "/", as the contract allows."""
    centre = subscribe(f"{PREFIX}/cmd-result")
    async with page_rig(tmp_path, broker) as web:
        tab = await web.logged_in_tab()
        body = {"pick_id": pick_id, "lines": [{"gtin": AMOX, "quantity": 2}], "picker": "Ana"}
        centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(body)))
        await tab.goto(f"{web.url}/picks")
        listed = tab.locator(f'[data-pick="{pick_id}"]')
        await expect(listed).to_have_count(1, timeout=SECOND)
        await listed.get_by_role("button", name="Cancel this list").click()
        await expect(tab.locator(".flash")).to_have_text(
            f"Pick list {pick_id} cancelled by {NAME}.", timeout=SECOND
        )
        await expect(listed).to_have_count(0)
        assert statuses(centre, pick_id)[-1] == "cancelled"
        # Cancelling it again is refused by the gateway, and the page says why.
        token = await tab.locator('input[name="csrf"]').first.get_attribute("value")
        again = await tab.request.post(
            f"{web.url}/picks/{quote(pick_id, safe='')}/cancel",
            form={"csrf": token or "", "next": "/picks"},
        )
        assert f"Not done: pick list {pick_id} is cancelled" in await again.text()


async def test_ids_holding_a_slash_reach_their_pages_and_actions(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """Every page and action about an id takes the id whole, "/" and all: the gateway's
    answer (or the ledger's) about that id, never the page's "Not Found"."""
    async with page_rig(tmp_path, broker) as web:
        tab = await web.logged_in_tab()
        for path in ("/stocktake/st%2Fnone", "/stocktake/st/none/epcis"):
            answer = await tab.request.get(web.url + path)
            assert answer.status == 404, path
            assert "no stocktake &#39;st/none&#39; in the ledger" in await answer.text(), path
        await tab.goto(f"{web.url}/alarms")
        token = await tab.locator('input[name="csrf"]').first.get_attribute("value")
        for path, said in (
            ("/alarms/a%2Fb/ack", "a/b"),
            ("/stocktake/st/none/confirm", "st/none"),
            ("/procurement/req%2F1/confirm", "req/1"),
        ):
            answer = await tab.request.post(
                web.url + path, form={"csrf": token or "", "next": "/alarms"}
            )
            assert answer.status == 200, path
            assert "Not done:" in (text := await answer.text()) and said in text, path


async def test_a_login_ends_when_idle_although_its_open_page_keeps_refreshing(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """A tablet left on a live view fetches its live part at every change: that is not the
    person using it, so it must not keep their login (and their name on actions) alive."""
    async with page_rig(tmp_path, broker) as web:
        now = [0.0]
        web.page.state.sessions = Sessions(60.0, lambda: now[0])
        tab = await web.logged_in_tab()
        await tab.goto(f"{web.url}/alarms")  # someone at the screen: that keeps the login
        for _ in range(3):
            now[0] += 50
            await tab.goto(f"{web.url}/alarms")
        await expect(tab.locator("#who")).to_have_text(NAME)
        for _ in range(3):  # nobody at the screen; the open page refreshes its live part
            now[0] += 50
            part = await tab.request.get(f"{web.url}/alarms?part=live")
            assert part.status == 200
        await tab.goto(f"{web.url}/alarms")
        await expect(tab.locator("#login-link")).to_be_visible()
        assert await tab.get_by_role("button", name="Acknowledge").count() == 0


def located(command_id: str, slot: str, quantity: int) -> str:
    """A gateway's answer to a locate, as the contract has it."""
    return json.dumps(
        {
            "command": "locate",
            "command_id": command_id,
            "status": "located",
            "at": "2026-12-06T03:00:00.000Z",
            "gtin": "04012345000016",
            "slots": [{"slot": slot, "quantity": quantity}],
            "seconds": 30,
        }
    )


async def test_a_click_is_told_the_answer_to_itself_or_that_none_came_yet(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    async with page_rig(tmp_path, broker) as web:
        tab = await web.logged_in_tab()
        rig = web.rig
        assert rig.gateway is not None
        rig.gateway.stop()  # this test answers in the gateway's place
        await asyncio.wait_for(rig.task, 10)
        gateway = subscribe(f"{PREFIX}/cmd/locate")
        await tab.goto(f"{web.url}/find?q=ibuprofen")
        click = asyncio.create_task(tab.get_by_role("button", name="Light the slots").click())
        [sent] = await eventually(lambda: gateway.payloads("/cmd/locate"), what="the locate")
        # Someone else's locate is answered first (another screen, the centre), then this one.
        gateway.publish(f"{PREFIX}/cmd-result", located("web-04012345000016", "B-09", 7))
        gateway.publish(f"{PREFIX}/cmd-result", located(sent["command_id"], "A-06", 4))
        await click
        await expect(tab.locator(".flash")).to_contain_text("A-06 (4)", timeout=SECOND)
        await expect(tab.locator(".flash")).not_to_contain_text("B-09")

        # Nobody answers: the person is told it was sent and may still happen, not "Not done".
        await tab.get_by_role("button", name="Light the slots").click()
        flash = tab.locator(".flash")
        await expect(flash).to_contain_text("No answer yet", timeout=3 * SECOND)
        await expect(flash).to_contain_text("look again before repeating it")
        await expect(flash).not_to_contain_text("Not done")
