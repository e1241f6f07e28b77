"""`rxedge procurement watch` and `rxedge procurement status`: the procurement clerk's side.

`watch` takes the requests of every gateway (or one site, or one gateway) as they arrive, in a
share group with the other clerks and services watching (each request goes to one of them),
and writes them down, answers them, or both. `status` sends the centre's answer about one
request to its gateway and shows the gateway's refusal, if it refuses.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from edge.cli.broker_options import add_broker_options, broker_link
from edge.cli.config_file import add_config_option, config_path
from edge.settings.config import load_config
from sync.broker_security import BrokerLink
from sync.topics import Topics

Target = Callable[[argparse.Namespace], tuple[BrokerLink, Topics]]
AddTarget = Callable[[argparse.ArgumentParser], None]
STATUS_COMMAND = "procurement-status"  # what the gateway names in its answers on cmd-result
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
        default="procurement",
        help="share group: watchers in one group split the requests (%(default)s; '' for none)",
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
        type=float,
        default=3.0,
        help="seconds to wait for the gateway's refusal (%(default)s)",
    )
    add_target(status)

    def run_status(args: argparse.Namespace) -> int:
        broker, topics = target(args)
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
    from edge.cli.procurement_watch import WatchOptions, watch

    if any(c in args.group for c in "/+#"):
        print(f"rxedge: --group {args.group!r}: one topic level, without + or #", file=sys.stderr)
        return 2
    if args.broker is not None and args.config is None:
        link = broker_link(args, args.broker)
    else:
        broker = load_config(config_path(args)).broker
        link = broker_link(args, args.broker or broker.url, broker)
    options = WatchOptions(
        broker_url=link.url,
        as_json=args.json,
        site=args.site,
        gateway=args.gateway,
        client_id=args.client_id,
        group=args.group,
        count=args.count,
        seconds=args.seconds,
        csv=args.csv,
        seen=args.seen,
        accept=args.accept,
        by=args.by,
        security=link.security,
    )
    return asyncio.run(watch(options))


async def send_status(
    broker: BrokerLink | str,
    topics: Topics,
    request_id: str,
    state: str,
    note: str = "",
    by: str | None = None,
    wait: float = 3.0,
    as_json: bool = False,
) -> int:
    """Publish the answer on the gateway's `procurement/status` (checked against the contract
    first) and wait `wait` seconds for the gateway to refuse it on `cmd-result`: 0 when it did
    not ("sent"), 1 when it did (the reason printed), 2 when the answer breaks the contract,
    3 when the broker did not take it. `as_json`: the outcome as one JSON object."""
    from edge.cli.procurement_watch import now_stamp
    from sync.contract import check_topic
    from sync.mqtt_session import MqttSession, PublishRefused

    link = BrokerLink.of(broker)

    body: dict[str, object] = {"request_id": request_id, "status": state, "at": now_stamp()}
    if note:
        body["note"] = note
    if by is not None:
        body["by"] = by
    payload = json.dumps(body)
    problems = check_topic(topics.procurement_status, payload)
    if problems:
        print(f"rxedge: status not sent: {'; '.join(problems)}", file=sys.stderr)
        return 2
    refusals: asyncio.Queue[str] = asyncio.Queue()

    def on_answer(_topic: str, raw: bytes) -> None:
        try:
            answer = json.loads(raw)
        except ValueError:
            return
        if (
            isinstance(answer, dict)
            and answer.get("command") == STATUS_COMMAND
            and answer.get("command_id") == request_id
            and answer.get("status") == "error"
        ):
            refusals.put_nowait(str(answer.get("error", "")))

    session = MqttSession(
        link.address,
        f"rxedge-cli-{socket.gethostname()}-{os.getpid()}",
        subscriptions=[topics.command_result],
        on_message=on_answer,
        persistent=False,
        security=link.security,
    )
    await session.start()
    try:
        await asyncio.wait_for(session.subscribed.wait(), 10)
        await asyncio.wait_for(session.publish(topics.procurement_status, payload), 10)
    except (TimeoutError, PublishRefused) as failed:
        why = f": {failed}" if isinstance(failed, PublishRefused) else ""
        print(f"rxedge: the broker at {link.url} did not take the status{why}", file=sys.stderr)
        await session.stop()
        return 3
    try:
        error = await asyncio.wait_for(refusals.get(), wait)
    except TimeoutError:
        print(json.dumps({**body, "outcome": "sent"}) if as_json else "sent")
        return 0
    finally:
        await session.stop()
    if as_json:
        print(json.dumps({**body, "outcome": "refused", "error": error}))
    else:
        print(f"request {request_id}: {state} refused by {topics.prefix}: {error}")
    return 1
