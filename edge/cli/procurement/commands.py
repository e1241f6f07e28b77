"""`rxedge procurement watch` and `rxedge procurement status`: the procurement clerk's side.

`watch` takes the requests of every gateway (or one site, or one gateway) as they arrive, in a
share group with the other clerks and services watching (each request goes to one of them),
and writes them down, answers them, or both. `status` sends the centre's answer about one
request to its gateway (the one it came from: `edge.cli.procurement.origin`) and shows what the
gateway made of it (`edge.cli.procurement.status`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from edge.cli.broker_options import add_broker_options, broker_link, wait_seconds
from edge.cli.config_file import add_config_option, read_config

if TYPE_CHECKING:
    from edge.cli.procurement.watch import WatchOptions
    from sync.broker_security import BrokerLink
    from sync.jetstream.consumer_group import GroupRefused
    from sync.topics import Topics

# Named in a string: the broker's modules load as a command sends, not with every parser.
Target: TypeAlias = "Callable[[argparse.Namespace], tuple[BrokerLink, Topics]]"
AddTarget = Callable[[argparse.ArgumentParser], None]
# The states the centre may answer with (the contract's list: sync/schemas/procurement-status.json).
ANSWER_STATES = ("accepted", "ordered", "shipped", "cancelled", "rejected")


def add_clerk_commands(
    procurement: argparse._SubParsersAction,  # type: ignore[type-arg]
    add_target: AddTarget,
    target: Target,
) -> None:
    """Register `procurement watch` and `procurement status`."""
    watcher = procurement.add_parser("watch", help="print requests as they arrive")
    add_config_option(watcher, "its broker's URL and CA file")
    watcher.add_argument("--broker", help="mqtt://host:port (instead of the config's)")
    watcher.add_argument("--json", action="store_true", help="one JSON object per line")
    watcher.add_argument("--site", help="only this site")
    watcher.add_argument("--gateway", help="only this gateway")
    watcher.add_argument(
        "--group",
        help="MQTT 5 share group: watches in one group, of one --site/--gateway, split the "
        "requests (default procurement, for watches of every gateway: with --site or --gateway "
        "give one; '' for none; MQTT 3.1.1 has none: use --nats and --durable)",
    )
    centre = watcher.add_argument_group("the centre's NATS JetStream stream (instead of MQTT)")
    centre.add_argument(
        "--nats",
        metavar="URL[,URL...]",
        help="read requests from the stream, e.g. nats://10.0.0.1:4222,nats://10.0.0.2:4222",
    )
    centre.add_argument(
        "--durable",
        default="procurement",
        metavar="NAME",
        help="consumer group: processes with one name share the requests (%(default)s)",
    )
    centre.add_argument(
        "--ack-wait",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="a request its taker did not finish goes to another after this long, in a group "
        "this watch makes; a group made before keeps its own (%(default)s)",
    )
    centre.add_argument(
        "--replicas",
        type=int,
        default=3,
        choices=(1, 3, 5),
        help="copies the cluster keeps of the stream it creates (%(default)s)",
    )
    watcher.add_argument("--client-id", help="keep a session under this id (catch up on return)")
    watcher.add_argument("--csv", type=Path, metavar="FILE", help="append each request to FILE")
    watcher.add_argument(
        "--seen", type=Path, metavar="FILE", help="remember handled request ids in FILE"
    )
    watcher.add_argument(
        "--accept", action="store_true", help="answer each new request with status accepted"
    )
    watcher.add_argument("--by", default="procurement", help="who accepts (%(default)s)")
    watcher.add_argument("--count", type=int, help="exit after this many requests")
    watcher.add_argument("--seconds", type=float, help="exit after this long")
    add_broker_options(watcher)
    watcher.set_defaults(handler=_watch)

    status = procurement.add_parser("status", help="send the centre's answer about a request")
    status.add_argument("request_id", help="the request's id (a UUID)")
    status.add_argument("state", choices=ANSWER_STATES, help="the centre's answer")
    status.add_argument("--note", default="", help="e.g. the wholesaler's order number")
    status.add_argument("--by", help="who answers (the contract's default: centre)")
    status.add_argument(
        "--wait",
        type=wait_seconds,
        default=10.0,
        metavar="SECONDS",
        help="seconds to wait for the gateway's answer: applied, or refused and why (%(default)s)",
    )
    add_target(status)
    for action in status._actions:  # the target's --json tells of a stream of answers
        if action.dest == "json":
            action.help = "the outcome as one JSON object"
    known = status.add_argument_group(
        "where the request came from, as the watch wrote it down (its site and gateway are "
        "taken from there; --site/--gateway naming another gateway are refused)"
    )
    known.add_argument("--csv", type=Path, metavar="FILE", help="the watch's --csv file")
    known.add_argument("--seen", type=Path, metavar="FILE", help="the watch's --seen file")

    def run_status(args: argparse.Namespace) -> int:
        import asyncio

        from edge.cli.procurement.origin import OriginUnknown, answer_target
        from edge.cli.procurement.status import send_status

        try:
            broker, topics = answer_target(args, target)
        except OriginUnknown as exc:
            print(f"rxedge: {exc}", file=sys.stderr)
            return 2
        return asyncio.run(
            send_status(
                broker,
                topics,
                args.request_id,
                args.state,
                args.note,
                args.by,
                args.wait,
                as_json=args.json,
            )
        )

    status.set_defaults(handler=run_status)


def _watch(args: argparse.Namespace) -> int:
    import asyncio

    from edge.cli.procurement.watch import WatchOptions, accept_problems, watch
    from sync.broker_security import BrokerSecurity

    if args.accept and (problems := accept_problems(args.by)):
        print(f"rxedge: --by cannot answer a request: {'; '.join(problems)}", file=sys.stderr)
        return 2
    if args.group and any(c in args.group for c in "/+#"):
        print(f"rxedge: --group {args.group!r}: one topic level, without + or #", file=sys.stderr)
        return 2
    if args.nats is not None and not args.allow_insecure:
        from sync.jetstream.link import plain_text_problem

        for server in args.nats.split(","):
            if (problem := plain_text_problem(server.strip())) is not None:
                print(
                    f"rxedge: --nats: {problem}; use tls:// (a NATS server that requires TLS), "
                    "or --allow-insecure to accept that",
                    file=sys.stderr,
                )
                return 2
    link: BrokerLink | None
    if args.broker is not None and args.config is None:
        link = broker_link(args, args.broker)
    elif args.nats is not None and args.config is None:
        link = None  # requests from the stream; no MQTT unless answers are sent
    else:
        broker = read_config(args).broker
        link = broker_link(args, args.broker or broker.urls_text, broker)
    protocol = "5" if link is None else link.protocol
    group = args.group
    if group is None:
        group = "procurement" if protocol == "5" else ""
        if group and args.nats is None and (args.site or args.gateway):
            print(f"rxedge: {_default_group_problem(args.site, args.gateway)}", file=sys.stderr)
            return 2
    elif group and protocol == "3.1.1":
        print(
            "rxedge: --group needs MQTT 5 (shared subscriptions); with MQTT 3.1.1, clerks share "
            "the requests through the centre's stream: --nats URL --durable NAME",
            file=sys.stderr,
        )
        return 2
    given = {f.name: getattr(args, f.name) for f in fields(WatchOptions) if f.name in vars(args)}
    options = WatchOptions(
        **{
            **given,  # the options of the same names, as given
            "broker_url": None if link is None else link.urls,
            "as_json": args.json,
            "group": group,
            "security": BrokerSecurity() if link is None else link.security,
            "protocol": protocol,
            "reach": _reach(args),
        }
    )
    return asyncio.run(watch_group(options) if options.nats else watch(options))


def _reach(args: argparse.Namespace) -> tuple[str, ...]:
    """The options the watch was given to find its broker, as `rxedge procurement status`
    takes them: the command a request's line shows reaches the same broker."""
    from edge.cli.procurement.request_lines import option_words

    given = (
        ("--config", args.config),
        ("--broker", args.broker),
        ("--mqtt-protocol", args.mqtt_protocol),
    )
    return tuple(
        word for option, value in given if value for word in option_words(option, str(value))
    )


async def watch_group(options: WatchOptions) -> int:
    """Take requests from the stream as a member of `options.durable` until `count` requests,
    `seconds`, or a failure; follow the gateways' alarms in the stream meanwhile, for requests
    made urgent or refused after they were sent (sync.jetstream.alarm_feed: an ordered
    consumer, read from the stream's start at each start, that takes nothing from any other
    consumer)."""
    import asyncio

    from edge.cli.broker_options import own_client_id
    from edge.cli.procurement.watch import Clerk, until_done
    from edge.service.stopping import StopSignals
    from sync.broker_refusal import BrokerLinkError
    from sync.jetstream.alarm_feed import follow_alarms
    from sync.jetstream.consumer_group import STREAM, GroupRefused, JetStreamRequests
    from sync.jetstream.link import NatsUnavailable, connect
    from sync.jetstream.subjects import alarm_subject, request_subject
    from sync.procurement_feed import ReceivedRequest, SeenRequests

    assert options.nats is not None
    if options.accept and options.broker_url is None:
        print(
            "rxedge: --accept answers over MQTT: give --broker too (or --config)", file=sys.stderr
        )
        return 2
    servers = [s.strip() for s in options.nats.split(",") if s.strip()]
    member = options.client_id or own_client_id("watch")
    # The register applies each request once; the seen file is what this watch took, for the
    # news of one made urgent since (the alarms come again at each start).
    seen = SeenRequests(options.seen)
    clerk = Clerk(options, member, options.client_id is not None, seen)

    async def take(request: ReceivedRequest) -> None:
        await clerk.take(request)
        seen.add(request.key)

    try:
        nc = await connect(servers, member)
    except NatsUnavailable as exc:
        print(f"rxedge: {exc}; check --nats", file=sys.stderr)
        await clerk.stop()
        seen.close()
        return 2
    group = JetStreamRequests(
        nc,
        options.durable,
        take,
        member,
        request_subject(options.site, options.gateway),
        ack_wait=options.ack_wait,
        wanted=clerk.wants_more,
        repeat=clerk.repeat,
    )
    loop = asyncio.get_running_loop()
    deadline = None if options.seconds is None else loop.time() + options.seconds
    handling: asyncio.Task[None] | None = None
    ended = asyncio.Event()
    signals = StopSignals(ended)  # Ctrl-C ends it with its counts said
    try:
        await clerk.start()
        await group.start(options.replicas)
        # Before any request is taken: a failure here ends the watch with nothing cut short.
        alarms = alarm_subject(options.site, options.gateway)
        await follow_alarms(nc, clerk.news.alarm, alarms)  # until the connection closes
        with signals:  # from the moment it says it is watching
            print(
                f"watching {group.subject} in group {options.durable} on {options.nats}",
                file=sys.stderr,
                flush=True,
            )
            print(
                f"following {alarms} in stream {STREAM} for requests made urgent or refused "
                "after they were sent",
                file=sys.stderr,
                flush=True,
            )
            handling = asyncio.create_task(group.run(), name="consumer group")
            handling.add_done_callback(lambda _: ended.set())
            await until_done(clerk, deadline, ended)
            if clerk.enough.is_set():
                # The last request taken is marked done and acknowledged, the rest given back,
                # before the group's run ends by itself: cut short, it would be applied again.
                await ended.wait()
    except (BrokerLinkError, NatsUnavailable) as exc:
        print(f"rxedge: {exc}", file=sys.stderr)
        return 2
    except GroupRefused as exc:
        print(_group_refusal(exc), file=sys.stderr)
        return 2
    finally:
        if handling is not None:
            handling.cancel()
            await asyncio.gather(handling, return_exceptions=True)
        await nc.close()
        await clerk.stop()
        seen.close()
    counts = group.counts
    print(
        f"{member}: {counts.applied} applied, {counts.finished} finished for a member that "
        f"stopped, {counts.duplicates} duplicates dropped, {counts.deliveries} deliveries "
        f"({counts.again} delivered again), {counts.left} left for later, {counts.malformed} "
        "malformed dropped",
        file=sys.stderr,
    )
    failure = None if handling.cancelled() else handling.exception()
    if isinstance(failure, GroupRefused):  # its filter changed by a member made at the same time
        print(_group_refusal(failure), file=sys.stderr)
        return 2
    if failure is not None:
        print(f"rxedge: watch stopped: {failure!r}", file=sys.stderr)
        return 1
    if signals.status is not None:
        return signals.status
    return clerk.outcome()


def _default_group_problem(site: str | None, gateway: str | None) -> str:
    """Why a watch of one site or gateway is not put in the default share group: the broker
    tells shared subscriptions apart by group and topic, so the group's watches of every
    gateway would get the same requests, each its own share."""
    name = "-".join(v for v in ("procurement", site, gateway) if v)
    return (
        f"{_filter_options(site, gateway)} in the share group procurement (the default): the "
        "broker splits a group's requests only among its watches of the same --site and "
        "--gateway, so the group's watches of every gateway would get these requests as well, "
        "and two clerks could order the same one. Give the watches of this filter a group of "
        f"their own, the same on each (--group {name}), or take them alone (--group '')"
    )


def _group_refusal(refused: GroupRefused) -> str:
    """The refusal as said to the clerk, with what the watch can do, in its options: join with
    the group's own filter, or take another group; a group not made (its filter would lose
    requests) is made once a group of every gateway's requests is there."""
    from sync.jetstream.subjects import request_filter

    found = [request_filter(subject) for subject in refused.held]
    if not found:
        way = (
            "start a group of every gateway's requests first, and keep it (a watch with "
            "--durable NAME, without --site or --gateway), or leave them out here"
        )
    elif len(found) != 1 or found[0] is None:
        way = "give this watch a group of another name (--durable NAME)"
    else:
        way = (
            f"join it with its filter ({_filter_options(*found[0])}), or give this watch a "
            "group of another name (--durable NAME)"
        )
    return f"rxedge: {refused}; {way}"


def _filter_options(site: str | None, gateway: str | None) -> str:
    """A watch's filter as its options say it."""
    given = " ".join(f"--{o} {v}" for o, v in (("site", site), ("gateway", gateway)) if v)
    return given or "without --site or --gateway"
