"""`rxedge pick` and `rxedge locate`: commands sent to a gateway over its broker, answers shown.

The command goes the way the centre's would (``cmd/{name}``), so what works here works from
the centre; the answers on ``cmd-result`` are printed line by line as they come.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from edge.cli.broker_options import command_session
from inventory.codes.gtin import normalize_gtin
from inventory.stocktake.adjustments import not_booked
from sync.broker_refusal import OPTION_SETTINGS, BrokerLinkError
from sync.broker_security import BrokerLink
from sync.commands import Refuse, answer_id, parse_command, with_envelope
from sync.errors import PublishRefused
from sync.mqtt_client import answer_to
from sync.topics import Topics

# How the gateway ends its answers to each command the command line sends (docs/mqtt.md,
# docs/picking.md): the statuses that end it well (exit 0), and those that end it otherwise
# (exit 1) besides `error`, which ends any. A pick's answers go on (accepted, progress,
# mistake, reminder) until its list ends; a cancel is told as the list's end, or refused.
ENDINGS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "pick": (frozenset({"done"}), frozenset({"cancelled", "timed_out", "duplicate"})),
    "pick-cancel": (frozenset({"cancelled"}), frozenset({"done", "timed_out"})),
    "locate": (frozenset({"located"}), frozenset()),
    "stocktake-start": (frozenset({"started"}), frozenset()),
    # A sweep that read nothing (or whose handheld stayed away) is abandoned: nothing judged.
    "stocktake-end": (frozenset({"ended"}), frozenset({"abandoned"})),
    "stocktake-confirm": (frozenset({"confirmed"}), frozenset()),
    "alarm-ack": (frozenset({"acknowledged"}), frozenset()),
    "write-off": (frozenset({"written_off"}), frozenset()),
    "procurement-confirm": (frozenset({"confirmed"}), frozenset()),
}
# What another message may draw about a list this command follows: its end (a cancel).
ENDED_BY_OTHERS = frozenset({"done", "cancelled", "timed_out"})


def describe_result(body: dict[str, object]) -> str:
    """One answer from `cmd-result` as a line for a person."""
    status, cid = str(body.get("status")), body.get("command_id")
    if body.get("command") == "putaway" and status in _PUTAWAY:
        return f"{cid}: " + _PUTAWAY[status].format_map(body)
    if str(body.get("command")).startswith("stocktake-") and status in _STOCKTAKE:
        text = _STOCKTAKE[status].format_map(body)
        passed_by = body.get("not_counted")  # the slots a sweep did not pass
        if status == "ended" and isinstance(passed_by, list) and passed_by:
            text += f"; not counted: {', '.join(map(str, passed_by))}"
        left = not_booked(body.get("skipped"))  # a confirmation's differences it left
        return text + (f"; {left}" if left else "")
    if status in ("accepted", "reminder", "done", "timed_out", "cancelled"):
        lines = body.get("lines")
        parts = [_line_text(line) for line in lines] if isinstance(lines, list) else []
        head = f"{cid}: {status.replace('_', ' ')}"
        if status == "accepted":
            head += f" for picker {int(str(body.get('picker_no', 0))) + 1}"
        return "\n".join([head, *parts])
    if status == "progress":
        return (
            f"{cid} line {body['line']}: picked {body['picked']} of {body['quantity']} "
            f"from {body['slot']} (batch {body['batch'] or '-'}, by {body['confirmed_by']}); "
            f"{body['remaining']} to go"
        )
    if status == "mistake":
        return (
            f"{cid} MISTAKE at {body.get('slot') or 'the scanner'}: {body['reason']}; "
            f"seen {body['seen']}; expected {body['expected']}"
        )
    if status == "located":
        slots = body.get("slots")
        held = slots if isinstance(slots, list) else []
        where = ", ".join(f"{s['slot']} ({s['quantity']})" for s in held)
        if not where:
            return f"GTIN {body['gtin']}: no usable pack on the shelves; nothing lit"
        return f"GTIN {body['gtin']}: usable in {where}; lit for {body['seconds']} s"
    if status == "written_off":
        return (
            f"{body['quantity']} pack(s) of GTIN {body['gtin']} batch {body['batch'] or '-'} "
            f"({body['why']}) written off from {body['slot']} by {body['by']}; "
            f"{body['left']} held there still"
        )
    if status == "duplicate":
        return f"{cid}: received before; it is {body.get('state')}"
    # A refusal about no command in particular (an end with no stocktake running) has no id.
    said = (str(cid) if cid else "", status, str(body.get("error") or ""))
    return ": ".join(part for part in said if part)


_PUTAWAY = {
    "expected": "delivery announced",
    "lit": "GTIN {gtin} batch {batch} goes to {slot} ({waiting} to put there)",
    "put": "GTIN {gtin} put in {slot} (by {confirmed_by}; {put} put so far)",
    "refused": "REFUSED GTIN {gtin} batch {batch}: {reason} ({why})",
    "wrong_slot": "WRONG SLOT {slot}: nothing was lit there (lit: {expected})",
    "paused": "paused, left untouched: {put} put, {waiting} lit and not put (their slots go "
    "dark); the next scan of its packs resumes it",
    "closed": "closed ({how}): {put} put, {refused} refused, {waiting} left waiting",
}

_STOCKTAKE = {
    "started": "stocktake {stocktake_id} of shelf {shelf} started (by {by})",
    "ended": "stocktake {stocktake_id} of shelf {shelf} ended: {summary[seen]} of "
    "{summary[expected]} tagged packs seen; {summary[missing]} missing, {summary[unexpected]} "
    "unexpected, {summary[misplaced]} misplaced",
    "abandoned": "stocktake {stocktake_id} of shelf {shelf} abandoned: {reason}",
    "confirmed": "stocktake {stocktake_id} confirmed by {by}: {adjustments} adjustment(s) booked",
}


# The gateway refused a copy of the message after carrying out (or refusing) the message itself:
# the link broke before the broker acknowledged it, the client sent it again, and the answer
# came while the link was down.
_LOST = (
    "rxedge: the gateway had this command already (the link broke after it was sent, and it was"
    " sent again): it was carried out or refused then, and that answer was lost with the link;"
    " look before sending it again"
)


def _line_text(line: object) -> str:
    if not isinstance(line, dict):
        return f"  {line}"
    slots = ", ".join(
        f"{s['slot']} ({s['quantity']}, batch {s['batch'] or '-'}, expiry {s['expiry'] or '-'})"
        for s in line.get("slots", [])
    )
    text = (
        f"  line {line['line']}: {line['picked']}/{line['quantity']} x GTIN {line['gtin']}"
        + (f" batch {line['batch']}" if line.get("batch") else "")
        + (f" from {slots}" if slots else "")
    )
    return text + (f"; SHORT by {line['short']}" if line.get("short") else "")


def _answers(answer: dict[str, object], name: str, body: dict[str, object], told: bool) -> bool:
    """Whether `answer` belongs to this command: the gateway's answer naming its message
    (`reply_to`), and, once that came (`told`), what is said later about the thing it acted
    on (a list's progress and its end, whoever ended it). Any other answer naming another
    message is that message's: before `told`, a late answer to an earlier command about the
    same thing; after it, one to a command sent meanwhile (the same list sent again is
    `duplicate`, a cancel refused is `error`), this one's only when it ends the thing.
    The refusal of a copy of this message (`replay_of`, the client having sent it again over
    a new link) is this one's too, before the answer came: that answer was lost with the link.
    An answer naming no message (a later report, or a gateway from before `reply_to`) is
    matched by what it is about (`_about`)."""
    reply_to = answer.get("reply_to")
    if reply_to == body["message_id"]:
        return True
    if "replay_of" in answer:  # a copy's refusal: this one's, if it names this message
        return answer["replay_of"] == body["message_id"] and not told
    if reply_to is not None and not (told and answer.get("status") in ENDED_BY_OTHERS):
        return False
    return _about(answer, name, body)


def _about(answer: dict[str, object], name: str, body: dict[str, object]) -> bool:
    """Whether `answer` is about what this command acted on: filed under its id, or, for a
    sweep's start (and its end when no id is given), under the id the gateway gave the sweep:
    matched then by the shelf it names (the start) or by the command alone (the end of the one
    sweep running)."""
    command_id = answer_id(body)
    if answer.get("command_id") == command_id:
        return True
    if answer.get("command") != name:
        return False
    if name == "stocktake-start":
        return answer.get("shelf") == body.get("shelf")
    return name == "stocktake-end" and not command_id


async def send_command(
    broker: BrokerLink | str,
    topics: Topics,
    name: str,
    body: dict[str, object],
    wait: bool = True,
    timeout: float = 900.0,
    as_json: bool = False,
) -> int:
    """Send `cmd/{name}` and print its answers until the final one (or `timeout`), each as a
    line for a person or (`as_json`) as it came, one JSON object a line: 0 when the final one
    ends it well, 1 when it ends it otherwise (`ENDINGS`), 3 when no answer came or the broker
    refused it. Answers are matched by the message they name (`_answers`)."""
    success, failure = ENDINGS[name]
    link = BrokerLink.of(broker)
    body = with_envelope(body, ttl_seconds=120)
    command = parse_command(name, json.dumps(body).encode())
    if isinstance(command, Refuse):
        print(f"rxedge: {name} not sent: {command.error}", file=sys.stderr)
        return 2
    command_id = answer_id(body)  # the gateway files its answers under it
    answers: asyncio.Queue[dict[str, object]] = asyncio.Queue()
    told = False  # the answer naming this message came

    def on_message(_topic: str, payload: bytes) -> None:
        nonlocal told
        try:
            answer = json.loads(payload)
        except ValueError:
            return
        if isinstance(answer, dict) and _answers(answer, name, body, told):
            told = told or answer.get("reply_to") == body["message_id"]
            answers.put_nowait(answer)

    session = command_session(link, [topics.command_result] if wait else [], on_message)
    await session.start()
    try:
        await session.until_connected(10, OPTION_SETTINGS)
        if wait:
            await asyncio.wait_for(session.subscribed.wait(), 10)
        published = session.publish(topics.command(name), json.dumps(body))
        if not wait:
            await asyncio.wait_for(published, 10)
            sent = {"command": name, "command_id": command_id, "status": "sent"}
            print(json.dumps(sent) if as_json else f"{name} {command_id} sent to {topics.prefix}")
            return 0
        while True:
            answer = await answer_to(published, answers.get(), timeout)
            if "replay_of" in answer:
                print(_LOST, file=sys.stderr)
                return 3
            print(json.dumps(answer) if as_json else describe_result(answer), flush=True)
            status = str(answer.get("status"))
            if status in success:
                return 0
            if status in failure or status == "error":
                return 1
    except BrokerLinkError as exc:
        print(f"rxedge: {exc}", file=sys.stderr)
        return 3
    except TimeoutError:
        print(
            f"rxedge: no answer from {topics.prefix} on {link.url} within {timeout:.0f} s (a slow"
            " broker or gateway may still carry it out: look before sending it again)",
            file=sys.stderr,
        )
        return 3
    except PublishRefused as refused:
        print(
            f"rxedge: {link.url} refused {topics.command(name)}: {refused} (may this account "
            "send commands? see docs/mqtt.md, Security)",
            file=sys.stderr,
        )
        return 3
    finally:
        await session.stop()


def read_pick_list(path: Path) -> dict[str, object]:
    """A pick list file: the JSON of a `cmd/pick` message (its GTINs may be typed with 8, 12
    or 13 digits; each is sent as its GTIN-14)."""
    try:
        body = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SystemExit(f"rxedge: cannot read pick list {path}: {exc}") from None
    if not isinstance(body, dict):
        raise SystemExit(f"rxedge: pick list {path} must hold a JSON object")
    lines = body.get("lines")
    for number, line in enumerate(lines if isinstance(lines, list) else [], start=1):
        if isinstance(line, dict) and isinstance(line.get("gtin"), str):
            try:
                line["gtin"] = normalize_gtin(line["gtin"])
            except ValueError as exc:
                raise SystemExit(f"rxedge: pick list {path}, line {number}: {exc}") from None
    return body
