"""`rxedge procurement watch`: the procurement clerk's live view of incoming requests.

Each new request is, in this order: answered `accepted` on its gateway's `procurement/status`
(with `--accept`, once the broker has acknowledged the answer), written to the CSV file (with
`--csv`, flushed and synced), printed, remembered as seen (in the `--seen` file, synced), and
only then acknowledged to the broker. A watcher stopped anywhere in between gets the request
again from its persistent session (`--client-id`) and finishes what was left: the answer is the
same answer again (which changes nothing at the gateway), and a request already in the CSV file
or the seen file is not written twice. A request is told apart by its gateway and its id. A copy
of one taken before that its gateway sent again for want of an answer is not taken again, but
printed as a repeat: the gateway has no answer, so the clerk's may have gone astray. With
`--json` that line goes to stderr: stdout is one JSON line a request taken, for scripts.

Two watches with one `--client-id` share one session and throw each other off: a request taken
by one and not yet acknowledged when it is thrown off goes to the other, which writes it down
too (a request that reached a watch is written down even when its link has gone: after a
broker's crash it would not come again). A watch whose session another client takes over
(sync.broker_refusal.SessionTakeover) writes down and acknowledges nothing more, and stops
with TAKEN_OVER: what it wrote down had been written before it was acknowledged, and what it
had received and not written down stays with the session, unacknowledged, for whichever client
holds it (the other watch) or this watch's next run. Stopping so never waits on the broker: a
request in hand (an answer waiting for its PUBACK) is dropped, and comes again. Stopped
otherwise (Ctrl-C, SIGTERM, `count`, `seconds`), a watch takes no new request and finishes the
one in hand first, for up to FINISH_SECONDS (a second Ctrl-C stops it at once): cut off once
answered, a request would be accepted at its gateway and never written down.

With `--nats` the requests come from the centre's NATS JetStream stream instead, through a
consumer group shared with the other clerks' processes (edge.cli.procurement.commands.watch_group).
Both follow the gateways' alarms and tell on stderr, once, of a request taken as routine that one
names as urgent now, and what became of one the centre refused (edge.cli.procurement.alarm_news):
the MQTT watch in a session of its own, the NATS watch by an ordered consumer of the stream from
its start, taking none from others (sync.jetstream.alarm_feed). The MQTT watch tells of its link.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import sys
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from edge.cli.broker_options import own_client_id
from edge.cli.procurement.alarm_news import AlarmNews
from edge.cli.procurement.request_csv import RequestCsv
from edge.cli.procurement.request_lines import repeat_note, request_line
from edge.cli.procurement.urgent import alarm_subscription, urgent_file
from edge.cli.procurement.watch_links import NO_SESSION_WARNING, AlarmsAndLink
from edge.service.stopping import StopSignals
from sync.broker_refusal import OPTION_SETTINGS, BrokerLinkError
from sync.broker_security import BrokerSecurity
from sync.broker_url import BrokerAddress, MqttProtocol, parse_broker_list
from sync.contract import check_topic, validate
from sync.mqtt_session import MqttSession
from sync.procurement_feed import (
    ReceivedRequest,
    RequestConsumer,
    RequestDeduplicator,
    SeenRequests,
    request_subscription,
)
from sync.status_updates import MESSAGE as STATUS_MESSAGE

OnRequest = Callable[[ReceivedRequest], Awaitable[None] | None]
OnRepeat = Callable[[ReceivedRequest], None]
TAKEN_OVER = 3  # the exit status of a watch whose session another client took over
FINISH_SECONDS = 10.0  # how long a stopping watch gives the request in hand to be finished


def now_stamp() -> str:
    """UTC now as the contract writes times, e.g. 2026-11-26T16:04:17.120Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def status_answer(
    request_id: str, state: str, note: str = "", by: str | None = None
) -> dict[str, object]:
    """The centre's answer about a request, as `procurement/status` carries it, said now."""
    body: dict[str, object] = {"request_id": request_id, "status": state, "at": now_stamp()}
    if note:
        body["note"] = note
    if by is not None:
        body["by"] = by
    return body


class ProcurementWatch:
    """Subscribes to procurement requests and hands each one (once) to `on_request`, which may
    be a coroutine function: the request counts as done, and is acknowledged to the broker,
    when it returns. A copy of one done that its gateway sent again goes to `on_repeat`. Once
    `wanted` says no or the session is taken over, no further message is taken (nor acknowledged;
    taken over, it links no more). `in_hand` is the request being taken, if any."""

    def __init__(
        self,
        broker: BrokerAddress | Sequence[BrokerAddress],
        on_request: OnRequest,
        site: str | None = None,
        gateway: str | None = None,
        client_id: str | None = None,
        group: str | None = None,
        seen: SeenRequests | None = None,
        security: BrokerSecurity | None = None,
        protocol: MqttProtocol = "5",
        wanted: Callable[[], bool] = lambda: True,
        on_repeat: OnRepeat | None = None,
    ):
        self._on_request = on_request
        self.feed = RequestDeduplicator(seen=seen, on_repeat=on_repeat)
        self.in_hand: ReceivedRequest | None = None
        self.client_id = client_id or own_client_id("watch")
        # A named client keeps its session: requests sent while it was away arrive on return.
        self.session = RequestConsumer(
            broker,
            self.client_id,
            request_subscription(site, gateway, group),
            self._handle,
            persistent=client_id is not None,
            security=security,
            protocol=protocol,
            wanted=lambda: wanted() and not self.session.takeover.taken_over.is_set(),
        )

    async def start(self) -> None:
        await self.session.start()

    async def until_subscribed(self, timeout: float) -> None:
        """Wait for the subscription; BrokerRefused or BrokerUnreachable when it will not be
        made within `timeout` seconds."""
        await self.session.until_subscribed(timeout, OPTION_SETTINGS)

    async def finish(self, timeout: float, *cuts: asyncio.Event) -> None:
        """Take no new request, and wait for the one in hand to be taken and acknowledged, for
        up to `timeout` seconds or until one of `cuts` is set."""
        self.session.take_no_more()
        await first_set(timeout, self.session.stopped, *cuts)

    async def stop(self) -> None:
        """Stop at once: a request in hand is left unacknowledged."""
        await self.session.stop()

    async def _handle(self, topic: str, payload: bytes) -> None:
        request = self.feed.new(topic, payload)
        if request is None:
            return
        self.in_hand = request
        try:
            result = self._on_request(request)
            if inspect.isawaitable(result):
                await result
            self.feed.done(request)
        finally:
            self.in_hand = None


@dataclass(frozen=True, slots=True)
class WatchOptions:
    """What `rxedge procurement watch` was asked for."""

    broker_url: str | None  # one URL or several, comma-separated (tried in order)
    as_json: bool = False
    site: str | None = None
    gateway: str | None = None
    client_id: str | None = None
    group: str | None = "procurement"
    count: int | None = None
    seconds: float | None = None
    csv: Path | None = None
    seen: Path | None = None
    accept: bool = False
    by: str = "procurement"
    security: BrokerSecurity = field(default_factory=BrokerSecurity)  # TLS files, the account
    protocol: MqttProtocol = "5"
    nats: str | None = None  # NATS servers, comma-separated: read the centre's stream instead
    durable: str = "procurement"  # the consumer group on the stream
    ack_wait: float = 30.0  # the group's ack wait, when this watch makes the group
    replicas: int = 3  # copies of the stream and the register the cluster keeps
    reach: tuple[str, ...] = ()  # the options that found the broker, for `status` to find it


class Accepter:
    """Answers requests with `accepted` on their gateway's `procurement/status`, each answer
    acknowledged by the broker before `accept` returns."""

    def __init__(self, options: WatchOptions, client_id: str, persistent: bool):
        assert options.broker_url is not None
        self.session = MqttSession(
            parse_broker_list(options.broker_url),
            client_id,
            persistent=persistent,
            security=options.security,
            protocol=options.protocol,
        )
        self.by = options.by

    async def accept(self, request: ReceivedRequest) -> None:
        """Send the answer; NotAccepted if the contract forbids it (the request is then not
        taken: it stays with the session, neither written down nor seen)."""
        topic = request.topics.procurement_status
        body = json.dumps(status_answer(request.request_id, "accepted", by=self.by))
        problems = check_topic(topic, body)
        if problems:
            raise NotAccepted(f"not accepting {request.request_id}: {'; '.join(problems)}")
        await self.session.publish(topic, body)


class NotAccepted(ValueError):
    """An answer `accepted` the contract forbids: the watch stops before taking the request."""


def accept_problems(by: str) -> list[str]:
    """What the contract finds wrong with an answer `accepted` said by `by` (checked before the
    watch starts: a --by it refuses would refuse every request)."""
    return validate(STATUS_MESSAGE, status_answer(str(uuid.uuid4()), "accepted", by=by))


class Clerk:
    """What the watch does with each new request: answer it (`--accept`), write it down
    (`--csv`), print it; `enough` is set once `count` requests are taken, and from then on
    `wants_more` says no, so that the feed stops before taking another. A copy of a request
    taken before, sent again by its gateway, is printed (`repeat`; on stderr with --json),
    nothing more. `news` tells of requests taken as routine that alarms name as urgent, and
    what became of those the centre refused (on stderr too, for the same reason);
    `taken_before`: the requests taken before (the seen file's), told of the CSV file's too."""

    def __init__(
        self,
        options: WatchOptions,
        client_id: str,
        persistent: bool,
        taken_before: SeenRequests | None = None,
    ):
        self.options = options
        self.received = 0
        self.enough = asyncio.Event()
        self.table = RequestCsv(options.csv) if options.csv is not None else None
        if taken_before is None:
            taken_before = SeenRequests()
        if self.table is not None:
            taken_before.know(self.table.request_keys())  # written down before: not again
        beside = options.seen if options.seen is not None else options.csv
        kept = None if beside is None else urgent_file(beside)
        self.news = AlarmNews(taken_before, kept, self.table)
        self.accepter = (
            Accepter(options, f"{client_id}-answers", persistent) if options.accept else None
        )

    async def start(self) -> None:
        if self.accepter is not None:
            await self.accepter.session.start()
            await self.accepter.session.until_connected(10, OPTION_SETTINGS)

    async def stop(self) -> None:
        if self.accepter is not None:
            await self.accepter.session.stop()
        self.news.close()
        if self.table is not None:
            self.table.close()

    async def take(self, request: ReceivedRequest) -> None:
        if self.accepter is not None:
            await self.accepter.accept(request)  # refused: not written down, nor seen
        if self.table is not None:
            self.table.write(request, now_stamp())
        options = self.options
        print(self.shown(request), flush=True)
        self.news.taken(request)
        self.received += 1
        if options.count is not None and self.received >= options.count:
            self.enough.set()

    def repeat(self, request: ReceivedRequest) -> None:
        """A copy of a request taken before, sent again for want of an answer: its line says so,
        with the command that answers it. With --json it goes to stderr: stdout holds one line
        a request taken, and a script ordering each would order it again."""
        line = request_line(request, self.options.reach, taken_before=True)
        print(line, file=sys.stderr if self.options.as_json else sys.stdout, flush=True)

    def shown(self, request: ReceivedRequest) -> str:
        """The request as printed: a line, or its JSON (with `repeat`, what the line says of a
        copy sent again, when it is one: this watch had not seen the request)."""
        reach = self.options.reach
        if not self.options.as_json:
            return request_line(request, reach)
        repeat = repeat_note(request, reach)
        return json.dumps(request.body if repeat is None else {**request.body, "repeat": repeat})

    def wants_more(self) -> bool:
        return not self.enough.is_set()

    def outcome(self) -> int:
        count = self.options.count
        return 0 if count is None or self.received >= count else 1


async def first_set(timeout: float | None, *events: asyncio.Event) -> None:
    """Wait until one of `events` is set, for up to `timeout` seconds (None: no limit)."""
    waits = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


async def until_done(clerk: Clerk, deadline: float | None, *ends: asyncio.Event) -> None:
    """Wait for `count` requests, the deadline (loop time), or any of `ends` (the end of the
    handling, a stop signal, the session taken over by another client)."""
    loop = asyncio.get_running_loop()
    timeout = None if deadline is None else max(0.0, deadline - loop.time())
    await first_set(timeout, clerk.enough, *ends)


async def watch(options: WatchOptions) -> int:
    """Print requests as they arrive; stop after `count` requests or `seconds`, if given, or
    on Ctrl-C or SIGTERM (130, 143)."""
    assert options.broker_url is not None
    brokers = parse_broker_list(options.broker_url)
    seen = SeenRequests(options.seen)
    client_id = options.client_id or own_client_id("watch")
    clerk = Clerk(options, client_id, options.client_id is not None, seen)
    watcher = ProcurementWatch(
        brokers,
        clerk.take,
        options.site,
        options.gateway,
        options.client_id,
        options.group or None,
        seen,
        options.security,
        options.protocol,
        clerk.wants_more,
        on_repeat=clerk.repeat,
    )
    takeover = watcher.session.takeover
    beside = AlarmsAndLink(
        brokers,
        f"{client_id}-alarms",
        options.client_id is not None,
        alarm_subscription(options.site, options.gateway),
        clerk.news.alarm,
        options.security,
        options.protocol,
    )
    loop = asyncio.get_running_loop()
    deadline = None if options.seconds is None else loop.time() + options.seconds
    try:
        await clerk.start()
        await watcher.start()
        await watcher.until_subscribed(10 if options.seconds is None else options.seconds)
        with StopSignals() as signals:  # from the moment it says it is watching
            print(
                f"watching {watcher.session.subscription} on {options.broker_url}",
                file=sys.stderr,
            )
            if options.client_id is None:
                print(NO_SESSION_WARNING, file=sys.stderr)
            sys.stderr.flush()
            await beside.start(
                watcher.session, lambda: takeover.taken_over.is_set() or signals.ended.is_set()
            )
            await until_done(
                clerk, deadline, watcher.session.stopped, takeover.taken_over, signals.ended
            )
            if not takeover.taken_over.is_set():  # taken over, it stops at once
                if signals.ended.is_set() and watcher.in_hand is not None:
                    print(
                        f"rxedge: stopping once request {watcher.in_hand.request_id} is taken"
                        f" (at most {FINISH_SECONDS:.0f} s; Ctrl-C again stops now, leaving"
                        " it unfinished)",
                        file=sys.stderr,
                        flush=True,
                    )
                await watcher.finish(FINISH_SECONDS, takeover.taken_over, signals.again)
    except BrokerLinkError as exc:
        print(f"rxedge: {exc}", file=sys.stderr)
        return 2
    finally:
        await beside.stop()
        await watcher.stop()
        await clerk.stop()
        seen.close()
    if watcher.session.failed is not None:
        print(f"rxedge: watch stopped: {watcher.session.failed}", file=sys.stderr)
        return 1
    if takeover.taken_over.is_set():
        print(
            f"rxedge: watch stopped: {takeover.message(OPTION_SETTINGS)}; two watches with one"
            " --client-id would write down the same requests. The requests this watch wrote"
            " down are in its output; those it had not written down stay with the session,"
            " for the other client or this watch run again",
            file=sys.stderr,
        )
        return TAKEN_OVER
    return clerk.outcome() if signals.status is None else signals.status
