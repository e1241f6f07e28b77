"""A backlog of answers the broker kept for the gateway is taken in whole before any request is
sent again, over a real mosquitto: the gateway takes the centre's messages at its command rate,
so the broker's stored answers take longer to come in than the link's hold. No copy of a request
whose answer was still queued at the broker goes out; a request with truly no answer still does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from edge.demo.local_broker import LocalBroker
from inventory.changes import Book
from tests.clocks import SteppedClock
from tests.conftest import Subscriber, eventually
from tests.edge.procurement_rig import (
    PREFIX,
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
from tests.edge.test_procurement_resend_outage import (
    HOURS,
    LOOK_EVERY,
    PERIOD,
    copies,
    gateway_on,
    sent_again,
)


@pytest.fixture(autouse=True)
def looking_often(monkeypatch: pytest.MonkeyPatch) -> None:
    looking_every(monkeypatch, LOOK_EVERY)


ANSWERED = 20
RATE = 10.0  # answers taken a second: 3 for each request take 6 s, far past the hold (1 s)
STEPS = ("accepted", "ordered", "shipped")


async def test_no_copy_goes_out_of_a_request_whose_answer_waits_in_a_backlog_at_the_broker(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    wire = subscribe(f"{PREFIX}/procurement/request")
    centre = subscribe(f"{PREFIX}/cmd-result", client_id="centre")
    clock = SteppedClock()
    wanted = products(auto=ANSWERED + 1)
    db = tmp_path / "ledger.sqlite"
    stock(db, wanted)
    settings = {
        **config(db, broker.url, wanted),
        "procurement": {"resend_after_hours": HOURS},
        "commands": {"rate_per_second": RATE, "burst": 1},
    }
    gateway, task = await gateway_on(settings, clock)
    try:
        for product in wanted:
            change(gateway, Book((take_one(product["gtin"]),)))
        await eventually(lambda: len(requests(db)) == len(wanted), what="every request raised")
        await eventually(lambda: unsent_requests(db) == 0, what="the broker took them all")
    finally:
        await stop_gateway(gateway, task)
    # Longer than resend_after_hours away; the centre answers all but one, three times each.
    clock.step(PERIOD)
    *answered, unanswered = list(requests(db))
    for rid in answered:
        for status in STEPS:
            body = {"request_id": rid, "status": status, "by": "purchasing"}
            centre.publish(f"{PREFIX}/procurement/status", json.dumps(body))
    gateway, task = await gateway_on(settings, clock)
    try:
        await eventually(
            lambda: copies(wire),
            timeout=30,
            what="a request sent again",
        )
        assert [copy["request_id"] for copy in copies(wire)] == [unanswered], (
            "only the request with no answer"
        )
        assert set(requests(db).values()) == {"shipped", "requested"}, "every answer applied"
        assert sent_again(db) == {rid: int(rid == unanswered) for rid in requests(db)}
    finally:
        await stop_gateway(gateway, task)
