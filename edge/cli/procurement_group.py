"""`rxedge procurement watch --nats URL[,URL...] --durable NAME`: one clerk's process in a
consumer group on the centre's NATS JetStream stream (sync.jetstream_feed).

Every process started with the same `--durable` shares the requests; one that dies leaves what
it had not acknowledged to the others, and each request is applied (answered, written down,
printed) by one member. Answers (`--accept`) still go over MQTT, so `--broker` is needed for
them.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import TYPE_CHECKING

from edge.cli.procurement_watch import Clerk, own_client_id, until_done
from sync.broker_refusal import BrokerLinkError
from sync.jetstream_feed import JetStreamRequests, NatsUnavailable, connect, request_subject

if TYPE_CHECKING:
    from edge.cli.procurement_watch import WatchOptions


async def watch_group(options: WatchOptions) -> int:
    """Take requests from the stream as a member of `options.durable` until `count` requests,
    `seconds`, or a failure."""
    assert options.nats is not None
    if options.accept and options.broker_url is None:
        print(
            "rxedge: --accept answers over MQTT: give --broker too (or --config)", file=sys.stderr
        )
        return 2
    servers = [s.strip() for s in options.nats.split(",") if s.strip()]
    member = options.client_id or own_client_id("watch")
    clerk = Clerk(options, member, persistent=options.client_id is not None)
    try:
        nc = await connect(servers, member)
    except NatsUnavailable as exc:
        print(f"rxedge: {exc}; check --nats", file=sys.stderr)
        await clerk.stop()
        return 2
    group = JetStreamRequests(
        nc,
        options.durable,
        clerk.take,
        member,
        request_subject(options.site, options.gateway),
        ack_wait=options.ack_wait,
    )
    loop = asyncio.get_running_loop()
    deadline = None if options.seconds is None else loop.time() + options.seconds
    handling: asyncio.Task[None] | None = None
    try:
        await clerk.start()
        await group.start(options.replicas)
        print(
            f"watching {group.subject} in group {options.durable} on {options.nats}",
            file=sys.stderr,
            flush=True,
        )
        handling = asyncio.create_task(group.run(), name="consumer group")
        ended = asyncio.Event()
        handling.add_done_callback(lambda _: ended.set())
        for signum in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C ends it with its counts said
            loop.add_signal_handler(signum, ended.set)
        await until_done(clerk, ended, deadline)
    except BrokerLinkError as exc:
        print(f"rxedge: {exc}", file=sys.stderr)
        return 2
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        if handling is not None:
            handling.cancel()
            await asyncio.gather(handling, return_exceptions=True)
        await nc.close()
        await clerk.stop()
    counts = group.counts
    print(
        f"{member}: {counts.applied} applied, {counts.finished} finished for a member that "
        f"stopped, {counts.duplicates} duplicates dropped, {counts.deliveries} deliveries "
        f"({counts.again} delivered again)",
        file=sys.stderr,
    )
    failure = None if handling.cancelled() else handling.exception()
    if failure is not None:
        print(f"rxedge: watch stopped: {failure!r}", file=sys.stderr)
        return 1
    return clerk.outcome()
