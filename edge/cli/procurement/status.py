"""`rxedge procurement status`: the centre's answer about one request, sent to its gateway, and
the gateway's word on it awaited.

The answer carries a message id of its own; the gateway names it (`reply_to`) in what it made
of that very message on `cmd-result` (applied, duplicate, or refused with the reason), so the
clerk learns that their answer was taken, not merely that nobody objected in time.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from typing import Any

from edge.cli.broker_options import command_session
from sync.broker_refusal import OPTION_SETTINGS, BrokerLinkError
from sync.broker_security import BrokerLink
from sync.contract import check_topic
from sync.errors import PublishRefused
from sync.mqtt_client import NO_MATCHING_SUBSCRIBERS, answer_to
from sync.topics import Topics

STATUS_COMMAND = "procurement-status"  # what the gateway names in its answers on cmd-result
TAKEN = ("applied", "duplicate")  # the gateway's answers for a status it took
UNCONFIRMED = 4  # the exit status when the gateway said nothing within --wait
UNHEARD = 5  # the exit status when nobody subscribes to the gateway's answers
# Put with the answers when the PUBACK says nobody subscribes: no answer will come.
_NOBODY: dict[str, Any] = {}


def describe_taken(answer: dict[str, Any]) -> str:
    """The gateway's answer to a status it took, as a line for the clerk."""
    rid, given, state = answer["request_id"], answer["given"], answer["state"]
    if answer["status"] == "duplicate":
        return (
            f"duplicate: request {rid} was already {state}; who said it (and the note, if one "
            "was given) is kept"
        )
    if state != given:
        return (
            f"applied: request {rid} was already {state} (its delivery was booked in first); "
            f"{given} is kept as said"
        )
    return f"applied: request {rid} is now {state}"


async def send_status(
    broker: BrokerLink | str,
    topics: Topics,
    request_id: str,
    state: str,
    note: str = "",
    by: str | None = None,
    wait: float = 10.0,
    as_json: bool = False,
) -> int:
    """Publish the answer on the gateway's `procurement/status` (checked against the contract
    first) and wait up to `wait` seconds for the gateway's answer to it on `cmd-result`: 0
    when it took it (applied or duplicate), 1 when it refused it (the reason printed), 2 when
    the answer breaks the contract, 3 when the broker did not take it, 4 (`UNCONFIRMED`) when
    the gateway said nothing in time, 5 (`UNHEARD`) when the broker said (MQTT 5) that no
    client subscribes to that gateway's answers. `as_json`: the outcome as one JSON object."""
    from edge.cli.procurement.watch import status_answer

    link = BrokerLink.of(broker)
    message_id = str(uuid.uuid4())
    body = {**status_answer(request_id, state, note, by), "message_id": message_id}
    payload = json.dumps(body)
    problems = check_topic(topics.procurement_status, payload)
    if problems:
        print(f"rxedge: status not sent: {'; '.join(problems)}", file=sys.stderr)
        return 2
    answers: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def on_answer(_topic: str, raw: bytes) -> None:
        try:
            answer = json.loads(raw)
        except ValueError:
            return
        if (
            isinstance(answer, dict)
            and answer.get("command") == STATUS_COMMAND
            and answer.get("command_id") == request_id
            and answer.get("reply_to") == message_id  # to this very message, no other
        ):
            answers.put_nowait(answer)

    session = command_session(link, [topics.command_result], on_answer)
    await session.start()
    try:
        await session.until_connected(10, OPTION_SETTINGS)
    except BrokerLinkError as exc:
        print(f"rxedge: {exc}", file=sys.stderr)
        await session.stop()
        return 3
    try:
        await asyncio.wait_for(session.subscribed.wait(), 10)
    except TimeoutError:
        print(
            f"rxedge: the broker at {link.url} did not confirm the subscription to "
            f"{topics.command_result} within 10 s; the status was not sent",
            file=sys.stderr,
        )
        await session.stop()
        return 3
    try:
        published = session.publish(topics.procurement_status, payload)
        published.add_done_callback(lambda puback: _nobody_hears(puback, answers))
        answer = await answer_to(published, answers.get(), wait)
    except PublishRefused as refused:
        print(
            f"rxedge: the broker at {link.url} did not take the status: {refused}", file=sys.stderr
        )
        return 3
    except TimeoutError:
        # A PUBACK came (a refusal would have been raised): the broker keeps it for the gateway.
        acknowledged = published.done()
        if as_json:
            print(
                json.dumps({**body, "outcome": "unconfirmed", "broker_acknowledged": acknowledged})
            )
        else:
            kept = (
                "the broker keeps the answer for the gateway while it is away"
                if acknowledged
                else "nor did the broker acknowledge it: it may not have it"
            )
            print(
                f"sent, not yet confirmed: {topics.prefix} did not answer within {wait:g} s "
                f"({kept}); send the same answer again later to see the gateway's word on it"
                " (once a later answer is applied, this one is refused as going backwards)"
            )
        return UNCONFIRMED
    finally:
        await session.stop()
    if answer is _NOBODY:
        if as_json:
            print(json.dumps({**body, "outcome": "no_subscribers", "broker_acknowledged": True}))
        else:
            print(
                f"not delivered: nobody subscribes to {topics.procurement_status} (the broker "
                f"at {link.url} says so), so no gateway will get this answer; check --site and "
                "--gateway (a gateway away keeps its subscription: this one has none)"
            )
        return UNHEARD
    if answer.get("status") in TAKEN:
        if as_json:
            print(json.dumps({**body, "outcome": answer["status"], "state": answer["state"]}))
        else:
            print(describe_taken(answer))
        return 0
    error = str(answer.get("error") or answer.get("status"))
    if as_json:
        print(json.dumps({**body, "outcome": "refused", "error": error}))
    else:
        print(f"request {request_id}: {state} refused by {topics.prefix}: {error}")
    return 1


def _nobody_hears(puback: asyncio.Future[int], answers: asyncio.Queue[dict[str, Any]]) -> None:
    """The PUBACK came: when it says no client subscribes, no answer will come either."""
    failed = puback.cancelled() or puback.exception() is not None
    if not failed and puback.result() == NO_MATCHING_SUBSCRIBERS:
        answers.put_nowait(_NOBODY)
