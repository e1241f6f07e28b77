"""`rxedge procurement watch --site/--gateway` and MQTT 5 share groups, over a real mosquitto.
The broker tells shared subscriptions apart by group and topic: watches of one group split the
requests only if they watch the same site and gateway. A watch of one site is therefore not put
in the default group (where the watches of every gateway would get its requests as well) but
refused with the way out; in a group of its own it splits that site's requests with the others
of that group."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from edge.demo.local_broker import LocalBroker
from tests.conftest import Subscriber, eventually
from tests.edge.procurement_rig import CliRun, request_message


@pytest.mark.parametrize(
    ("narrowed", "group"),
    [
        (("--site", "s1"), "procurement-s1"),
        (("--site", "s1", "--gateway", "g5"), "procurement-s1-g5"),
    ],
)
async def test_a_watch_of_one_site_or_gateway_is_refused_the_default_group_with_the_way_out(
    broker: LocalBroker, narrowed: tuple[str, ...], group: str
) -> None:
    run = await CliRun.start("procurement", "watch", "--broker", broker.url, *narrowed)
    try:
        assert await run.finish(timeout=20) == 2, run.errors
    finally:
        await run.kill()
    said = "\n".join(run.errors)
    assert "in the share group procurement (the default)" in said, said
    assert f"--group {group}" in said and "--group ''" in said, said
    assert not any(e.startswith("watching") for e in run.errors), "never subscribed"


async def test_watches_of_one_site_in_a_group_of_their_own_split_that_sites_requests(
    broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    watch = ["procurement", "watch", "--broker", broker.url, "--json"]
    s1_desks = [
        await CliRun.start(*watch, "--site", "s1", "--group", "procurement-s1") for _ in range(2)
    ]
    every = await CliRun.start(*watch)  # the default group, every gateway
    try:
        for run in [*s1_desks, every]:
            await run.watching()
        assert "watching $share/procurement-s1/rxedge/v1/s1/+/procurement/request" in "\n".join(
            s1_desks[0].errors
        )
        centre = subscribe("nothing/at/all")
        sent = [request_message(site="s1", gateway="g5", n=1 + n % 9) for n in range(10)]
        sent += [request_message(site="s2", gateway="g2", n=n) for n in (1, 2, 3)]
        for body in sent:
            centre.publish(
                f"rxedge/v1/{body['site']}/{body['gateway']}/procurement/request", json.dumps(body)
            )
        await eventually(
            lambda: (
                len(every.json_lines()) >= 13 and sum(len(d.json_lines()) for d in s1_desks) >= 10
            ),
            what="every request at the watch of every gateway, site s1's at the s1 desks",
        )
        for run in [*s1_desks, every]:
            assert await run.interrupt() == 130
    finally:
        for run in [*s1_desks, every]:
            await run.kill()
    taken = [[line["request_id"] for line in d.json_lines()] for d in s1_desks]
    assert all(taken), "the group of site s1 split its requests"
    assert not set(taken[0]) & set(taken[1]), "a request went to both s1 desks"
    s1_ids = sorted(str(b["request_id"]) for b in sent if b["site"] == "s1")
    assert sorted(taken[0] + taken[1]) == s1_ids, "site s1's requests, each once, none other"
    assert sorted(line["request_id"] for line in every.json_lines()) == sorted(
        str(b["request_id"]) for b in sent
    ), "the group of every gateway gets site s1's requests as well: another group"
