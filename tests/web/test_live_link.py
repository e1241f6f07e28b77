"""The page says when what it shows is not live: while its own link to the broker is down
(the lights and alarms it shows are frozen) and while the gateway is offline (nothing on the
shelves changes the page). Once both are back it says live again and follows the shelves, the
daemon restarted or not."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from playwright.async_api import expect

from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.pick_rig import AMOX, PREFIX
from tests.web.page_rig import page_rig

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
        a02 = tab.locator('.slot[data-slot="A-02"]')
        await expect(link).to_have_attribute("data-state", "live", timeout=SECOND)

        await broker.stop()
        await expect(link).to_have_attribute("data-state", "down", timeout=SECOND)
        await expect(link).to_contain_text("broker")
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
        await expect(link).to_contain_text("gateway offline")

        rig.gateway = Gateway(config, observer=rig.activity.append)
        rig.task = asyncio.create_task(rig.gateway.run())
        await eventually(rig.gateway.ready.is_set)
        await expect(link).to_have_attribute("data-state", "live", timeout=3 * SECOND)
        await rig.press("A-02")  # the list kept through the restart: its pack is taken
        await expect(a02).to_have_attribute("data-on", "false", timeout=SECOND)
        await expect(a02.locator(".holds")).to_have_text("empty", timeout=SECOND)
