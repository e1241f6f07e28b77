"""The Health page's outbox age is the daemon's own measure (the one its sync backlog alarm,
its metric and `rxedge status` judge by), which a step of the wall clock does not move: the
page's clock two hours ahead (NTP set the box's clock after the daemon started) shows a message
that has waited seconds as waiting seconds, not two hours. Without the daemon's metrics it
says when the oldest message was written."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import expect

from edge.demo.local_broker import LocalBroker
from inventory.alarms.lifecycle import AlarmKind
from inventory.changes import RaiseAlarm
from tests.clocks import SteppedClock
from tests.conftest import eventually
from tests.web.page_rig import page_rig

WAITED = re.compile(r"(\d+) message\(s\) waiting, the oldest for (\d+) s")


async def test_the_outbox_age_is_the_daemons_measure_not_the_pages_wall_clock(
    tmp_path: Path, broker: LocalBroker
) -> None:
    clock = SteppedClock()
    async with page_rig(tmp_path, broker, page_clock=clock) as web:
        gateway = web.rig.gateway
        assert gateway is not None
        clock.step(2 * 3600)
        await broker.stop()
        detail = {"device": "r9", "reason": "no answer"}
        assert gateway.ledger.offer(RaiseAlarm(AlarmKind.DEVICE_DOWN, "r9", detail))
        tab = await web.logged_in_tab()
        outbox = tab.locator("[data-outbox]")

        async def waited() -> int | None:
            await tab.goto(f"{web.url}/health")
            found = WAITED.search(await outbox.inner_text())
            return None if found is None or found.group(2) == "0" else int(found.group(2))

        # The daemon's figures are read every few seconds: until then it counts 0 s.
        seconds = await eventually(waited, timeout=20, interval=0.5, what="the outbox's wait")
        assert seconds < 600, f"{seconds} s: the page's wall clock, not the wait"

        await web.rig.stop_daemon()
        await tab.goto(f"{web.url}/health")
        await expect(outbox).to_contain_text("waiting, the oldest written 20")
