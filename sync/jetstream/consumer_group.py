"""The centre on NATS JetStream: the gateways' messages kept in replicated streams, and the
procurement requests taken by a consumer group that applies each request once.

NATS's MQTT gateway turns a topic into a subject level by level (``rxedge/v1/s/g/events`` ->
``rxedge.v1.s.g.events``). Before it acknowledges a QoS 1 message to its sender it writes it to
its own replicated store (`MQTT_STORE`, under ``$MQTT.msgs.rxedge.v1.s.g.events``), which keeps
a message as long as a consumer has yet to acknowledge it. The clerks' group is such a
consumer, on the requests: a request acknowledged to a gateway stays in the cluster until the
group has handled it. (A stream listening on the plain subject is written after the PUBACK: it
missed hundreds of acknowledged requests under load when its leader's node was killed.) The
stream `STREAM` keeps the record: requests, alarms and events, three replicas, 30 days.

Clerks' processes read it through one durable pull consumer: each takes what it fetches, and
acknowledges a message only after handling it, telling the cluster it is still at work on the
rest of its batch meanwhile; a message its taker never acknowledged (the process died) is
delivered again after the group's `ack_wait`, to whichever member fetches next. That ack wait
is the group's own, set by the member that made it: every member tells the cluster it is at
work at the pace of the group's, whatever it was given itself, and reads it again now and then
(GROUP_CHECK_SECONDS), for a group made again or edited meanwhile. A request a member
received and could not finish because the cluster did not answer it gives back, to come again
a second later (RETRY_SECONDS); one lost on its way to a member (sent through a node that died)
counts as delivered, and comes again only after the ack wait. Delivery is therefore at least
once. Applying is once: the group keeps a register of requests in the
cluster (a key-value bucket, three replicas; sync.jetstream.register), and a request is applied
by creating its entry "taken", naming the message that took it, which only one member can do;
an entry an earlier version made by the id alone counts, for every copy. That message is
acknowledged only once the request is done: an entry left taken by a member that died before
it finished is finished by the member that gets that message again. A copy of the request in
another message (the gateway sent it twice) is dropped meanwhile, whether the member applying
it is at work or gone; one its gateway sent again for want of an answer goes to `repeat`.

A group has one filter (every gateway's requests, one site's or one gateway's), the one it was
made with: a member asking for another is refused (GroupRefused), never joined with its filter
ignored; and a group of some gateways' requests is made only beside a consumer of every
gateway's, as the store deletes at once what no consumer takes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import nats
from nats.aio.client import Client as Nats
from nats.aio.msg import Msg
from nats.errors import ConnectionClosedError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    ConsumerInfo,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError

from sync.errors import SyncError
from sync.jetstream.register import RequestRegister
from sync.jetstream.subjects import (
    MQTT_STORE,
    SUBJECT_ROOT,
    filters_of,
    request_subject,
    requests_named,
    takes,
    topic_of,
)
from sync.procurement_feed import MalformedRequest, ReceivedRequest, parse_request

log = logging.getLogger(__name__)

STREAM = "RXEDGE"
REGISTER = "rxedge-requests"
STREAM_SUBJECTS = [
    f"{SUBJECT_ROOT}.*.*.procurement.request",
    f"{SUBJECT_ROOT}.*.*.alarms.*",
    f"{SUBJECT_ROOT}.*.*.events",
]
REPLICAS = 3
KEEP_SECONDS = 30 * 24 * 3600  # what the stream keeps; the register keeps ids as long
RETRY_SECONDS = 1.0  # a request left for a fault of the cluster's is offered again this soon
GROUP_CHECK_SECONDS = 10.0  # how soon a member follows a change of its group's ack wait


class GroupRefused(SyncError):
    """A member cannot join its consumer group as asked; `held` is what the group takes (its
    filter subjects), empty when the group is not made."""

    def __init__(self, message: str, held: list[str]):
        super().__init__(message)
        self.held = held


async def ensure_stream(js: JetStreamContext, replicas: int = REPLICAS) -> None:
    """Create the stream (and the group's register) unless they are there already."""
    try:
        await js.stream_info(STREAM)
    except NotFoundError:
        await js.add_stream(
            StreamConfig(
                name=STREAM,
                description="rxedge gateways: procurement requests, alarms and events",
                subjects=STREAM_SUBJECTS,
                retention=RetentionPolicy.LIMITS,
                storage=StorageType.FILE,
                num_replicas=replicas,
                max_age=KEEP_SECONDS,
            )
        )
    await js.create_key_value(
        KeyValueConfig(
            bucket=REGISTER,
            description="procurement requests applied by the centre, by site, gateway and id",
            replicas=replicas,
            storage=StorageType.FILE,
            ttl=KEEP_SECONDS,
        )
    )


async def until_store(js: JetStreamContext, timeout: float | None = None) -> None:
    """Wait for the MQTT gateway's store, which NATS makes at the first MQTT connection to the
    cluster; said once in the log if it is not there yet."""
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    said = False
    while True:
        try:
            await js.stream_info(MQTT_STORE)
            return
        except NotFoundError:
            if deadline is not None and loop.time() > deadline:
                raise
            if not said:
                log.warning(
                    "waiting for NATS's MQTT gateway to make its message store (%s): it does "
                    "when the first MQTT client (a gateway) connects to the cluster",
                    MQTT_STORE,
                )
                said = True
            await asyncio.sleep(0.5)


Apply = Callable[[ReceivedRequest], Awaitable[None]]


@dataclass
class GroupCounts:
    """What one member of the group did."""

    deliveries: int = 0
    again: int = 0  # deliveries that were not a message's first (its taker did not ack it)
    applied: int = 0  # entries this member created
    finished: int = 0  # entries another member took and did not finish
    duplicates: int = 0  # already done when delivered again
    malformed: int = 0
    left: int = 0  # not finished for a fault of the cluster's: delivered again later


class JetStreamRequests:
    """One member of the consumer group `durable`: fetches requests, hands each new one to
    `apply`, records it in the register, and only then acknowledges it. A copy of a request
    applied before, sent again by its gateway for want of an answer, goes to `repeat`. `wanted`
    is asked before each request: once it says no, what the member fetched and did not take is
    given back to the group at once and `run` returns."""

    def __init__(
        self,
        nc: Nats,
        durable: str,
        apply: Apply,
        member: str,
        subject: str = request_subject(),
        ack_wait: float = 30.0,
        batch: int = 20,
        wanted: Callable[[], bool] = lambda: True,
        repeat: Callable[[ReceivedRequest], None] | None = None,
    ):
        self._nc = nc
        self._js = nc.jetstream()
        self.durable = durable
        self.subject = subject
        self.member = member
        self.counts = GroupCounts()
        self._apply = apply
        self.asked_ack_wait = ack_wait  # for a group this member makes
        self.ack_wait = ack_wait  # the group's, once joined: the pace of "still at work"
        self._batch = batch
        self._wanted = wanted
        self._repeat = repeat
        self._register: RequestRegister | None = None

    async def start(self, replicas: int = REPLICAS) -> None:
        await ensure_stream(self._js, replicas)
        self._register = RequestRegister(await self._js.key_value(REGISTER), self.member)
        await until_store(self._js)
        self._pull = await self._join(replicas)

    async def _join(self, replicas: int) -> JetStreamContext.PullSubscription:
        """Bind to the group, made first with this member's filter if it is not there yet.
        GroupRefused when the group takes other requests than this member asks for (its
        members split what it takes: joined, this member's filter would be ignored), or when
        a new group's filter would leave requests that no consumer of the store takes."""
        try:
            info = await self._js.consumer_info(MQTT_STORE, self.durable)
        except NotFoundError:
            await self._refuse_a_filter_that_loses()
            config = ConsumerConfig(
                name=self.durable,
                durable_name=self.durable,
                filter_subject=self.subject,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=self.asked_ack_wait,
                max_deliver=-1,
                num_replicas=replicas,
            )
            # A member making it at the same time with another filter changes the group's
            # filter instead (NATS 2.9): what comes outside this member's is judged in `run`.
            info = await self._js.add_consumer(MQTT_STORE, config)
        self._judge(info)
        self._follow(info)
        return await self._js.pull_subscribe_bind(self.durable, MQTT_STORE)

    def _follow(self, info: ConsumerInfo) -> None:
        """Take the ack wait of the group `info` describes: the cluster delivers a request again
        after the group's, not after the one this member was given. Said (at -v) when it is
        not the one this member went by."""
        group = info.config.ack_wait
        # The cluster keeps nanoseconds: 4.1 s comes back as 4.0999999 s.
        if group is None or math.isclose(group, self.ack_wait, abs_tol=1e-3):
            return
        change = (
            ""
            if math.isclose(group, self.asked_ack_wait, abs_tol=1e-3)
            else " --ack-wait is a group's only when the watch makes the group; change the "
            f"group's with NATS's tool: nats consumer edit '{MQTT_STORE}' {self.durable} "
            f"--wait {self.asked_ack_wait:g}s"
        )
        log.info(
            "group %s delivers a request again after %g s unacknowledged (its ack wait), not "
            "%g s: this member tells the cluster every %.3g s that it is still at work on one.%s",
            self.durable,
            group,
            self.ack_wait,
            group / 3,
            change,
        )
        self.ack_wait = group

    async def _follow_the_group(self) -> None:
        """Read the group's ack wait again every GROUP_CHECK_SECONDS: a group deleted and made
        again by a member given another, or edited, has another (a member bound to the group
        goes on fetching through all that and is told nothing)."""
        while True:
            await asyncio.sleep(GROUP_CHECK_SECONDS)
            try:
                self._follow(await self._js.consumer_info(MQTT_STORE, self.durable))
            except (nats.errors.Error, TimeoutError):
                continue  # the cluster is busy (a leader being chosen): read it next time
            except Exception as exc:  # never stop following: a member left behind applies twice
                log.warning("group %s: its ack wait could not be read: %r", self.durable, exc)

    def _judge(self, info: ConsumerInfo) -> None:
        """GroupRefused unless the group `info` describes takes what this member asks for."""
        held = filters_of(info.config)
        if held != [self.subject]:
            raise GroupRefused(
                f"group {self.durable} takes {' and '.join(map(requests_named, held))}, not "
                f"{requests_named(self.subject)}: its members split what it takes, so a member "
                "cannot take other requests in it",
                held,
            )

    async def _refuse_a_filter_that_loses(self) -> None:
        """The store keeps a request only while a consumer of it is to take it: a group of
        some gateways' requests is made only beside a consumer of every gateway's (another
        group, or an MQTT session of the centre's), looked for page by page (the gateways'
        own MQTT sessions are consumers of the store too)."""
        every = request_subject()
        if takes(self.subject, every):
            return
        seen = 0
        while page := await self._js.consumers_info(MQTT_STORE, offset=seen):
            if any(takes(f, every) for info in page for f in filters_of(info.config)):
                return
            seen += len(page)
        raise GroupRefused(
            f"group {self.durable} would take only {requests_named(self.subject)}, and no "
            "consumer of the MQTT gateway's store takes every gateway's: the store keeps a "
            "request only for a consumer that takes it, so the other requests would be "
            "deleted as they arrive (acknowledged to their gateways, then lost)",
            [],
        )

    async def run(self) -> None:
        """Fetch and handle until cancelled or no more is wanted; a server lost in between is
        waited out."""
        following = asyncio.create_task(self._follow_the_group())
        try:
            await self._fetch_and_handle()
        finally:
            following.cancel()
            await asyncio.gather(following, return_exceptions=True)

    async def _fetch_and_handle(self) -> None:
        while self._wanted():
            try:
                messages = await self._pull.fetch(self._batch, timeout=1.0)
            except (TimeoutError, NatsTimeout):
                continue
            except (ConnectionClosedError, OSError) as exc:
                log.warning("fetching from %s: %s; trying again", MQTT_STORE, exc)
                await asyncio.sleep(0.5)
                continue
            except nats.errors.Error as exc:  # a node going away mid-request
                log.info("fetching from %s: %r; trying again", MQTT_STORE, exc)
                await asyncio.sleep(0.2)
                continue
            holding = asyncio.create_task(self._hold(messages))
            try:
                for at, message in enumerate(messages):
                    outside = not takes(self.subject, message.subject)
                    if outside or not self._wanted():
                        for left in messages[at:]:
                            await self._offer_again(left, delay=0)
                        if outside:  # the group's filter was changed since this member joined
                            self._judge(await self._js.consumer_info(MQTT_STORE, self.durable))
                        break
                    await self._handle_or_give_back(message)
            finally:
                holding.cancel()
                await asyncio.gather(holding, return_exceptions=True)

    async def _handle_or_give_back(self, message: Msg) -> None:
        try:
            await self._handle(message)
        except (nats.errors.Error, TimeoutError) as exc:  # the cluster, not the request
            self.counts.left += 1
            log.warning(
                "a request on %s left for now (%r): offered again in %.0f s",
                message.subject,
                exc,
                RETRY_SECONDS,
            )
            await self._offer_again(message)

    async def _hold(self, messages: list[Msg]) -> None:
        """While a batch is handled, tell the cluster every third of the group's ack wait that
        its requests not yet acknowledged are still being worked on: a slow clerk's request (an
        answer waiting for its broker, a full disk) does not go to another member meanwhile,
        to be applied twice."""
        while True:
            await asyncio.sleep(self.ack_wait / 3)
            for message in messages:
                if not message.is_acked:
                    with contextlib.suppress(nats.errors.Error, TimeoutError):
                        await message.in_progress()

    @staticmethod
    async def _offer_again(message: Msg, delay: float = RETRY_SECONDS) -> None:
        """Have the cluster deliver `message` again in `delay` seconds rather than after the
        whole ack wait; when the cluster cannot take even that, the ack wait still brings it
        back."""
        with contextlib.suppress(nats.errors.Error, TimeoutError):
            await message.nak(delay=delay)

    async def _handle(self, message: Msg) -> None:
        self.counts.deliveries += 1
        if message.metadata.num_delivered > 1:
            self.counts.again += 1
        try:
            request = parse_request(topic_of(message.subject), message.data)
        except MalformedRequest as exc:
            self.counts.malformed += 1
            log.warning("dropped a malformed request, not acted on: %s", exc)
            await message.ack()
            return
        assert self._register is not None
        taking = await self._register.take(request, message.metadata.sequence.stream)
        if taking is None:
            self.counts.duplicates += 1
            if request.sent_again and self._repeat is not None:
                self._repeat(request)
        else:
            if taking.finishing:
                self.counts.finished += 1
            else:
                self.counts.applied += 1
            await self._apply(request)
            await self._register.finish(request, taking)
        await message.ack()
