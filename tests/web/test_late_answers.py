"""A click the gateway answers late: the person is told there is no answer yet, and the late
answer, when it comes, is never given to the next click about the same thing. Each click is
told the answer to its own command (`reply_to` names its message)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from playwright.async_api import expect

from edge.demo.local_broker import LocalBroker
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.pick_rig import AMOX, PREFIX, statuses, writer_held
from tests.web.page_rig import NAME, page_rig

SECOND = 5_000  # ms: generous under load


async def test_a_late_answer_to_a_click_is_not_told_to_the_next_click(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    """The first cancel of a list is answered after the page gave up waiting; the person
    clicks again. The late answer (cancelled) belongs to the first click: the second is told
    its own answer, that the list was cancelled already, not that it cancelled it."""
    centre = subscribe(f"{PREFIX}/cmd-result")
    sent = subscribe(f"{PREFIX}/cmd/pick-cancel", client_id="cancels")
    async with page_rig(tmp_path, broker) as web:
        tab = await web.logged_in_tab()
        body = {"pick_id": "rx-100", "lines": [{"gtin": AMOX, "quantity": 2}], "picker": "Ana"}
        centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(body)))
        await tab.goto(f"{web.url}/picks")
        listed = tab.locator('[data-pick="rx-100"]')
        await expect(listed).to_have_count(1, timeout=SECOND)
        flash = tab.locator(".flash")
        async with writer_held(web.rig):
            await listed.get_by_role("button", name="Cancel this list").click()
            await expect(flash).to_contain_text("No answer yet", timeout=3 * SECOND)
            cancel = listed.get_by_role("button", name="Cancel this list")
            again = asyncio.create_task(cancel.click())
            await eventually(
                lambda: len(sent.payloads("/cmd/pick-cancel")) == 2, what="the second cancel"
            )
        await again
        await expect(flash).to_contain_text(
            "Not done: pick list rx-100 is cancelled", timeout=SECOND
        )
        await expect(flash).not_to_contain_text(f"cancelled by {NAME}")
        assert statuses(centre, "rx-100") == ["accepted", "cancelled", "error"]
