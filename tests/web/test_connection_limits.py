"""Connections cannot take the page from everyone: live streams are limited in all and per
client address (beyond, 503 with Retry-After, and the page's script opens its stream again
later), while every other request is still answered; a connection that sends no whole request
head within a few seconds is closed, and one address cannot hold more than its share."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import expect

from edge.demo.local_broker import LocalBroker
from tests.web.page_rig import page_rig
from tests.web.raw_http import Connect, Connection, connections

HEAD_WAIT = 15.0  # s: the page's 10 s for a request head, and time to spare under load
PER_ADDRESS = 64  # connections one client address may hold


async def stream(connect: Connect, source: str) -> tuple[int, str, Connection]:
    """GET /events from `source`: its status, Retry-After, and the connection (held open)."""
    connection = await connect(source)
    connection.send(connection.head("GET", "/events"))
    answer = await connection.answer(whole=False)
    return answer.status, answer.headers.get("retry-after", ""), connection


async def test_live_streams_are_limited_and_every_other_request_still_answered(
    tmp_path: Path, broker: LocalBroker, caplog: pytest.LogCaptureFixture
) -> None:
    async with page_rig(tmp_path, broker) as web, connections(web.url) as connect:
        live = web.page.state.live
        live.max_streams, live.max_streams_per_address = 3, 2
        held = []
        for source in ("127.0.0.1", "127.0.0.1"):
            status, _, connection = await stream(connect, source)
            assert status == 200
            held.append(connection)
        status, retry, _ = await stream(connect, "127.0.0.1")
        assert status == 503 and int(retry) > 0, "one address holds two streams at most"
        status, _, other = await stream(connect, "127.0.0.2")
        assert status == 200, "another address still has room"
        held.append(other)
        status, retry, _ = await stream(connect, "127.0.0.3")
        assert status == 503 and int(retry) > 0, "three streams in all"
        status, _, _ = await stream(connect, "127.0.0.1")
        assert status == 503
        # Each refusal is told once, with why and what shares an address.
        told = [r.getMessage() for r in caplog.records if "live feed:" in r.getMessage()]
        assert len(told) == 2, told
        assert "127.0.0.1" in told[0] and "2 are open from that address" in told[0]
        assert "127.0.0.3" in told[1] and "3 streams are open in all" in told[1]
        assert all("X-Forwarded-For" in line for line in told)

        # Meanwhile the page answers everything else, to the addresses at their limit too.
        for source in ("127.0.0.1", "127.0.0.3"):
            asker = await connect(source)
            assert (await asker.request("GET", "/shelves")).status == 200
            assert (await asker.request("GET", "/static/rxedge.js")).status == 200

        # A browser whose stream is refused says so, and gets it once there is room.
        tab = await web.tab()
        await tab.goto(f"{web.url}/shelves")
        link = tab.locator("#live-link")
        await expect(link).to_have_attribute("data-state", "down", timeout=5_000)
        await expect(tab.locator("#live-reason")).to_contain_text("reconnecting")
        await held[0].close()
        await expect(link).to_have_attribute("data-state", "live", timeout=20_000)


async def test_a_connection_without_a_whole_request_head_is_closed_within_seconds(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker) as web, connections(web.url) as connect:
        silent = await connect()
        trickle = await connect()
        trickle.send(b"GET /shelves HTTP/1.1\r\nHost: x\r\n")  # and never the rest
        kept_alive = await connect()
        assert (await kept_alive.request("GET", "/health")).status == 200
        kept_alive.send(b"GET /health HTTP/1.1\r\n")  # a second request begun, never ended
        closed = await asyncio.gather(
            *(c.closed_by_page(HEAD_WAIT) for c in (silent, trickle, kept_alive))
        )
        assert closed == [True, True, True]
        # A request sent whole is answered as ever.
        asker = await connect()
        assert (await asker.request("GET", "/health")).status == 200


async def test_one_address_cannot_hold_every_connection(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker) as web, connections(web.url) as connect:
        held = [await connect("127.0.0.4") for _ in range(PER_ADDRESS)]
        beyond = await connect("127.0.0.4")
        assert await beyond.closed_by_page(5), f"more than {PER_ADDRESS} from one address"
        assert (await held[-1].request("GET", "/health")).status == 200
        other = await connect("127.0.0.5")
        assert (await other.request("GET", "/health")).status == 200
