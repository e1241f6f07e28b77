"""`rxedge procurement watch --nats --site/--gateway` against a real 3-node cluster: a consumer
group has one filter, given by the member that made it. A member asking for another is refused
(exit 2) naming the group, what it takes and the way out, never joined with its filter ignored;
and a group of one site is not made where the MQTT gateway's store would delete the other
sites' requests as they arrive (it keeps a message only while a consumer is to take it)."""

from __future__ import annotations

import asyncio

import pytest
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import NotFoundError

from edge.demo.nats_cluster import NatsCluster
from sync.jetstream.consumer_group import GroupRefused, JetStreamRequests
from sync.jetstream.link import connect
from sync.jetstream.subjects import MQTT_STORE, request_subject
from sync.procurement_feed import ReceivedRequest
from tests.centre.conftest import Tally, publish_requests
from tests.conftest import eventually
from tests.edge.procurement_rig import CliRun, request_message


async def watch(cluster: NatsCluster, durable: str, *more: str) -> CliRun:
    return await CliRun.start(
        *("procurement", "watch", "--nats", ",".join(cluster.urls), "--durable", durable),
        *("--json", *more),
    )


async def has_group(cluster: NatsCluster, durable: str) -> bool:
    nc = await connect(cluster.urls, "test-probe")
    try:
        await nc.jetstream().consumer_info(MQTT_STORE, durable)
        return True
    except NotFoundError:
        return False
    finally:
        await nc.close()


@pytest.mark.timeout(120)
async def test_a_member_asking_for_another_filter_than_its_groups_is_refused_with_the_fix(
    cluster: NatsCluster,
) -> None:
    every = Tally(cluster)
    await every.open()  # the store keeps every request for it: a group of one site may be made
    s1 = await watch(cluster, "desk", "--site", "s1")
    await s1.watching()
    unfiltered = await watch(cluster, "desk")
    assert await unfiltered.finish(timeout=30) == 2, unfiltered.errors
    said = "\n".join(unfiltered.errors)
    assert "group desk takes the requests of site s1" in said, said
    assert "--site s1" in said and "--durable" in said, "the way out: its filter, another group"
    assert not any(e.startswith("watching") for e in unfiltered.errors), said
    other = await watch(cluster, "desk", "--site", "s1", "--gateway", "g1")
    assert await other.finish(timeout=30) == 2, other.errors

    bodies = [
        request_message(site=site, gateway=f"g{n}", n=n) for site in ("s1", "s2") for n in (1, 2)
    ]
    await publish_requests(cluster, bodies)
    await eventually(lambda: len(s1.json_lines()) >= 2, timeout=30, what="site s1's requests")
    assert await s1.interrupt() == 130
    assert {line["site"] for line in s1.json_lines()} == {"s1"}, "only its group's filter"
    assert sorted(await every.count()) == sorted(str(b["request_id"]) for b in bodies)


@pytest.mark.timeout(120)
async def test_a_member_of_one_site_is_refused_by_a_group_of_every_gateway(
    cluster: NatsCluster,
) -> None:
    opening = await watch(cluster, "all", "--seconds", "0.5")  # the group, made first
    assert await opening.finish() == 0, opening.errors
    narrow = await watch(cluster, "all", "--gateway", "g5")
    assert await narrow.finish(timeout=30) == 2, narrow.errors
    said = "\n".join(narrow.errors)
    assert "group all takes the requests of every gateway" in said, said
    assert "without --site or --gateway" in said, said


@pytest.mark.timeout(120)
async def test_a_group_of_one_site_is_made_only_where_the_other_sites_requests_are_kept(
    cluster: NatsCluster,
) -> None:
    alone = await watch(cluster, "desk2", "--site", "s1")
    assert await alone.finish(timeout=30) == 2, alone.errors
    said = "\n".join(alone.errors)
    assert "would be deleted" in said and "group desk2" in said, said
    assert not await has_group(cluster, "desk2"), "refused before it was made"

    every = await watch(cluster, "procurement", "--seconds", "0.5")  # every gateway's group
    assert await every.finish() == 0, every.errors
    s1 = await watch(cluster, "desk2", "--site", "s1")
    await s1.watching()
    bodies = [request_message(site="s2", gateway="g2", n=n) for n in (1, 2, 3)]
    await publish_requests(cluster, bodies)
    rest = await watch(cluster, "procurement", "--count", "3", "--seconds", "30")
    assert await rest.finish(timeout=40) == 0, rest.errors
    assert sorted(line["request_id"] for line in rest.json_lines()) == sorted(
        str(b["request_id"]) for b in bodies
    ), "site s2's requests kept for the group of every gateway"
    assert await s1.interrupt() == 130
    assert not s1.json_lines()


@pytest.mark.timeout(120)
async def test_a_member_whose_groups_filter_changed_under_it_takes_nothing_outside_its_own(
    cluster: NatsCluster,
) -> None:
    every = Tally(cluster)
    await every.open()
    applied: list[ReceivedRequest] = []

    async def apply(request: ReceivedRequest) -> None:
        applied.append(request)

    nc = await connect(cluster.urls, "test-clerk")
    try:
        s1 = JetStreamRequests(nc, "desk", apply, member="m1", subject=request_subject("s1"))
        await s1.start()
        # Another member making the group at the same moment, without a filter: NATS changes
        # the group's filter to its own instead of refusing it.
        await nc.jetstream().add_consumer(
            MQTT_STORE,
            ConsumerConfig(
                name="desk",
                durable_name="desk",
                filter_subject=request_subject(),
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=30.0,
                max_deliver=-1,
                num_replicas=3,
            ),
        )
        body = request_message(site="s2", gateway="g2", n=1)
        await publish_requests(cluster, [body])
        with pytest.raises(GroupRefused, match="group desk takes the requests of every gateway"):
            await asyncio.wait_for(s1.run(), 30)
        assert not applied, "nothing outside its filter"
        # Given back at once: the member the group is now for has it well within the ack wait.
        every_gateway = JetStreamRequests(nc, "desk", apply, member="m2")
        await every_gateway.start()
        running = asyncio.create_task(every_gateway.run())
        try:
            await eventually(lambda: applied, timeout=10, what="the request at the other member")
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
    finally:
        await nc.close()
    assert [r.request_id for r in applied] == [body["request_id"]]
