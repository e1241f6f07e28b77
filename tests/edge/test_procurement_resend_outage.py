"""An answer the broker kept for the gateway while it was away is not met by a copy sent again,
over a real mosquitto: the link cut (the daemon running) or the daemon stopped, past
`procurement.resend_after_hours`, the clerk answering meanwhile. Back on the broker, the
answer is applied and the request never goes out again (`sent_again` stays 0, as the wire
has it), also when a copy of it was already waiting in the outbox; a request with truly no
answer is still sent again."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC
from pathlib import Path

import pytest

from edge.cli.procurement.status import UNCONFIRMED
from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker
from edge.settings.config import parse_config
from inventory.apply import apply
from inventory.changes import Book, SendRequestsAgain
from inventory.keeper import InventoryKeeper
from inventory.site_calendar import SiteCalendar
from tests.clocks import SteppedClock
from tests.conftest import Subscriber, eventually, subscribed
from tests.edge.procurement_rig import (
    PREFIX,
    CliRun,
    change,
    config,
    looking_every,
    products,
    requests,
    stock,
    stop_gateway,
    take_one,
    unsent_requests,
)
from tests.sync.cuttable_link import CuttableLink

HOURS = 0.25  # the least allowed, stepped on the gateway's clock by the test
PERIOD = HOURS * 3600
LOOK_EVERY = 0.2  # seconds (the daemon's 60 s, shortened for the test)


@pytest.fixture(autouse=True)
def looking_often(monkeypatch: pytest.MonkeyPatch) -> None:
    looking_every(monkeypatch, LOOK_EVERY)


@pytest.fixture
async def link(broker: LocalBroker) -> AsyncIterator[CuttableLink]:
    relay = CuttableLink(broker.url)
    await relay.start()
    yield relay
    await relay.stop()


Running = tuple[Gateway, asyncio.Task[None]]


async def gateway_on(settings: dict[str, object], clock: SteppedClock) -> Running:
    gateway = Gateway(parse_config(settings), clock=clock)
    task = asyncio.create_task(gateway.run())
    await eventually(gateway.ready.is_set, what="gateway ready")
    await subscribed(gateway)
    return gateway, task


async def two_requests_taken(
    tmp_path: Path, broker_url: str, clock: SteppedClock
) -> tuple[dict[str, object], Path, Running, list[str]]:
    """The gateway running on `broker_url` with two products run short: its settings, its
    ledger and the ids of the two requests, both taken by the broker."""
    wanted = products(auto=2)
    db = tmp_path / "ledger.sqlite"
    stock(db, wanted)
    settings = {**config(db, broker_url, wanted), "procurement": {"resend_after_hours": HOURS}}
    gateway, task = await gateway_on(settings, clock)
    for product in wanted:
        change(gateway, Book((take_one(product["gtin"]),)))
    ids = await eventually(lambda: len(requests(db)) == 2 and list(requests(db)), what="raised")
    await eventually(lambda: unsent_requests(db) == 0, what="the broker took both")
    return settings, db, (gateway, task), ids


async def answered_while_away(broker: LocalBroker, clock: SteppedClock, rid: str) -> None:
    """Longer than resend_after_hours away, and the clerk accepts `rid` meanwhile: the broker
    keeps the answer in the gateway's session (the gateway, away, says nothing of it within
    the second the clerk waits)."""
    clock.step(PERIOD)
    target = ["--broker", broker.url, "--site", "s1", "--gateway", "g1", "--wait", "1"]
    answer = await CliRun.start("procurement", "status", rid, "accepted", *target)
    assert await answer.finish() == UNCONFIRMED, answer.errors
    # The gateway's looks at its requests while it is away (the link cut) have their chance.
    await asyncio.sleep(5 * LOOK_EVERY)


async def back_and_checked(wire: Subscriber, db: Path, answered: str, unanswered: str) -> None:
    """Back on the broker: the answer applied, the unanswered request sent again (a look at
    the requests was made after the link held), and no copy of the answered one, ever."""
    await eventually(lambda: requests(db)[answered] == "accepted", what="the answer applied")
    await eventually(
        lambda: any(c["request_id"] == unanswered for c in copies(wire)),
        what="the unanswered request sent again",
    )
    assert [c["request_id"] for c in copies(wire)] == [unanswered], "no copy of the answered"
    assert sent_again(db) == {answered: 0, unanswered: 1}


def copies(wire: Subscriber) -> list[dict[str, object]]:
    return [p for p in wire.payloads("/request") if p.get("sent_again")]


def sent_again(db: Path) -> dict[str, int]:
    """How many copies of each request went out after the first (as `procurement list`)."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT key, count(*) - 1 FROM outbox WHERE kind = 'procurement_request' GROUP BY key"
        ).fetchall()
    return {str(key): int(n) for key, n in rows}


async def test_a_cut_link_mended_applies_the_answer_kept_and_sends_no_copy_of_it(
    broker: LocalBroker,
    link: CuttableLink,
    tmp_path: Path,
    subscribe: Callable[..., Subscriber],
) -> None:
    wire = subscribe(f"{PREFIX}/procurement/request")
    clock = SteppedClock()
    _, db, (gateway, task), (answered, unanswered) = await two_requests_taken(
        tmp_path, link.url, clock
    )
    session = gateway.session
    assert session is not None
    try:
        link.cut()
        await eventually(lambda: not session.connected.is_set(), what="the link lost")
        await answered_while_away(broker, clock, answered)
        link.mend()
        await eventually(session.connected.is_set, what="the link back")
        await back_and_checked(wire, db, answered, unanswered)
    finally:
        await stop_gateway(gateway, task)


async def test_a_daemon_started_after_a_long_stop_applies_the_answer_kept_and_sends_no_copy(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    wire = subscribe(f"{PREFIX}/procurement/request")
    clock = SteppedClock()
    settings, db, (gateway, task), (answered, unanswered) = await two_requests_taken(
        tmp_path, broker.url, clock
    )
    await stop_gateway(gateway, task)
    await answered_while_away(broker, clock, answered)
    gateway, task = await gateway_on(settings, clock)
    try:
        await back_and_checked(wire, db, answered, unanswered)
    finally:
        await stop_gateway(gateway, task)


async def test_a_copy_waiting_in_the_outbox_at_a_stop_is_dropped_when_the_answer_kept_comes(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    """The daemon stopped with a copy of each request waiting for the broker (written, never
    handed to the MQTT client); the clerk answered one meanwhile. On the start the publisher
    would send the copy as it connects, while the broker hands the answer over."""
    wire = subscribe(f"{PREFIX}/procurement/request")
    clock = SteppedClock()
    settings, db, (gateway, task), (answered, unanswered) = await two_requests_taken(
        tmp_path, broker.url, clock
    )
    await stop_gateway(gateway, task)
    clock.step(PERIOD)
    keeper = InventoryKeeper(db, {}, "s1", "g1", SiteCalendar(UTC, clock.now))
    try:
        assert len(apply(keeper, SendRequestsAgain(PERIOD)).notes) == 2
    finally:
        keeper.close()
    assert unsent_requests(db) == 2, "a copy of each waits"
    await answered_while_away(broker, clock, answered)
    gateway, task = await gateway_on(settings, clock)
    try:
        await back_and_checked(wire, db, answered, unanswered)
    finally:
        await stop_gateway(gateway, task)
