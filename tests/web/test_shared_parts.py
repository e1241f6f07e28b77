"""Browsers cost the gateway the same however many are open: the live feed gathers what
arrives in a moment and writes the same bytes to every browser once; a view's live part is
rendered once per change for all browsers, each answer carrying its own session's CSRF token."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from edge.demo.local_broker import LocalBroker
from edge.web.live import LiveFeed
from edge.web.reading import LedgerReader
from edge.web.shared_parts import SharedParts
from sync.broker_security import BrokerLink, BrokerSecurity
from sync.broker_url import BrokerAddress
from sync.topics import Topics
from tests.web.page_rig import page_rig
from tests.web.test_actions import EXPIRED

TOPICS = Topics("s1", "g1")


def lights(shelf: str, number: int) -> bytes:
    slot = {"slot": f"{shelf}-01", "on": True, "colour": "green", "mode": "steady"}
    return json.dumps({"shelf": shelf, "slots": [{**slot, "number": number}]}).encode()


def feed(tmp_path: Path) -> LiveFeed:
    broker = BrokerLink(BrokerAddress.parse("mqtt://127.0.0.1:1"), BrokerSecurity())
    return LiveFeed(broker, TOPICS, "test", LedgerReader(tmp_path / "ledger.sqlite"))


async def test_a_burst_reaches_every_browser_as_one_write_with_each_shelfs_newest_lights(
    tmp_path: Path,
) -> None:
    live = feed(tmp_path)
    browsers = [live.stream() for _ in range(3)]
    for stream in browsers:  # each starts with whether it is live (no broker link here)
        first = await anext(stream)  # and the nudges sent before it (none yet)
        assert first == (
            b'retry: 2000\n\nevent: link\ndata: {"broker": false, "gateway": "unknown"}\n\n'
            b'event: generation\ndata: {"stamp": "' + live.stamp.encode() + b'"}\n\n'
        )
    before = live.generation, live.lights_generation
    for number in range(1, 6):
        live._on_message(f"{TOPICS.prefix}/lights/A", lights("A", number))
    live._on_message(f"{TOPICS.prefix}/lights/B", lights("B", 9))
    live._on_message(f"{TOPICS.prefix}/alarms/x", b"{}")
    live._on_message(f"{TOPICS.prefix}/alarms/x", b"")
    chunks = [await asyncio.wait_for(anext(stream), 5) for stream in browsers]
    assert chunks[0] == chunks[1] == chunks[2], "the same bytes for every browser"
    events = chunks[0].decode().strip().split("\n\n")
    assert [e.splitlines()[0] for e in events] == ["event: lights", "event: lights", "event: alarm"]
    assert json.loads(events[0].splitlines()[1].removeprefix("data: "))["slots"][0]["number"] == 5
    assert '"live": false' in events[2], "the alarm's newest state"
    assert (live.generation, live.lights_generation) == (before[0] + 1, before[1] + 1)
    live._on_message(f"{TOPICS.prefix}/lights/A", lights("A", 6))
    await asyncio.wait_for(anext(browsers[0]), 5)
    assert live.generation == before[0] + 1, "lights alone: the parts without lights stand"
    assert live.lights_generation == before[1] + 2
    for stream in browsers:
        await stream.aclose()
    assert live.browsers == 0


async def test_a_part_is_rendered_once_per_generation_however_many_ask_at_once() -> None:
    generation = 1
    parts = SharedParts()
    started = asyncio.Event()
    release = asyncio.Event()

    async def render() -> tuple[int, bytes]:
        started.set()
        await release.wait()
        return 200, f"gen {generation}".encode()

    waiting = [asyncio.create_task(parts.get("/picks", generation, render)) for _ in range(20)]
    await started.wait()
    release.set()
    assert {await task for task in waiting} == {(200, b"gen 1")}
    assert parts.renders == 1
    assert await parts.get("/shelves", generation, render) == (200, b"gen 1")
    assert parts.renders == 2, "another view is its own part"
    generation = 2
    assert await parts.get("/picks", generation, render) == (200, b"gen 2")
    assert parts.renders == 3


async def test_a_failed_render_is_not_kept_for_the_next_browser() -> None:
    parts = SharedParts()
    calls = 0

    async def render() -> tuple[int, bytes]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("disk hiccup")
        return 200, b"ok"

    with pytest.raises(OSError, match="disk hiccup"):
        await parts.get("/picks", 1, render)
    assert await parts.get("/picks", 1, render) == (200, b"ok")


async def test_each_browser_gets_the_shared_live_part_with_its_own_csrf_token(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker) as web:
        tabs = [await web.logged_in_tab() for _ in range(2)]
        anonymous = await web.tab()
        found = []
        for tab in [*tabs, anonymous]:
            await tab.goto(f"{web.url}/alarms")
            page_token = ""
            if tab is not anonymous:
                token = await tab.locator('input[name="csrf"]').first.get_attribute("value")
                page_token = token or ""
            part = await tab.evaluate(
                "fetch('/alarms?part=live', {credentials: 'same-origin'}).then(r => r.text())"
            )
            found.append((page_token, part))
        for page_token, part in found[:2]:
            assert EXPIRED in part
            tokens = re.findall(r'name="csrf" value="([^"]+)"', part)
            assert tokens and set(tokens) == {page_token}, "each form with this browser's token"
        assert found[0][0] != found[1][0], "two sessions, two tokens"
        assert EXPIRED in found[2][1] and 'name="csrf"' not in found[2][1], "no form logged out"
