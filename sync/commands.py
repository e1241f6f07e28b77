"""Commands from the centre (``cmd/{name}``), checked before anything is done with them.

Every payload is validated in full; a bad one becomes a `Refuse` with the reason in words,
which the daemon answers on ``cmd-result`` and never executes. A command the ledger carries out
is the inventory's change itself (`inventory.changes`: a `PickRequest`, `CancelPick`,
`Locate`, `Recall`, `WriteOff`, `AckAlarm`, `ConfirmRequest`, a delivery's `Notice`, `EndPutaway`,
`ConfirmStocktake`); starting and ending a stocktake are carried out on the daemon's loop and
are commands of their own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from inventory.changes import (
    AckAlarm,
    CancelPick,
    ConfirmRequest,
    ConfirmStocktake,
    EndPutaway,
    Locate,
    Recall,
    Refuse,
    WriteOff,
)
from inventory.picking.lists import PickLine, PickRequest
from inventory.putaway.sessions import Notice, NoticeLine
from sync.contract import COMMAND_NAMES, MAX_PAYLOAD, is_id, validate, with_defaults
from sync.inbound_json import PayloadError, read_json

__all__ = [
    "COMMANDS",
    "MAX_PAYLOAD",
    "AckAlarm",
    "CancelPick",
    "Command",
    "ConfirmRequest",
    "ConfirmStocktake",
    "EndPutaway",
    "Locate",
    "Recall",
    "Received",
    "Refuse",
    "StocktakeEnd",
    "StocktakeStart",
    "WriteOff",
    "answer_id",
    "message_id_of",
    "parse_command",
    "parse_received",
    "with_envelope",
]

# Where each command carries the id its answers are filed under, in the order looked for.
_ID_FIELDS = (
    "delivery_id",
    "pick_id",
    "stocktake_id",
    "alarm_id",
    "request_id",
    "command_id",
    "shelf",
    "gtin",
)


@dataclass(frozen=True, slots=True)
class StocktakeStart:
    shelf: str
    by: str


@dataclass(frozen=True, slots=True)
class StocktakeEnd:
    stocktake_id: str | None


Command = (
    PickRequest
    | CancelPick
    | Locate
    | Recall
    | WriteOff
    | StocktakeStart
    | StocktakeEnd
    | ConfirmStocktake
    | AckAlarm
    | ConfirmRequest
    | Notice
    | EndPutaway
    | Refuse
)
COMMANDS = COMMAND_NAMES


@dataclass(frozen=True, slots=True)
class Received:
    """A valid command with its envelope: the message's own id and its expiry."""

    command: Command
    message_id: str
    expires_at: datetime
    answer_id: str  # what its answers are filed under (the pick_id, the alarm_id, ...)


def with_envelope(
    body: dict[str, Any], ttl_seconds: float = 300.0, now: datetime | None = None
) -> dict[str, Any]:
    """`body` with a fresh message_id and an expiry `ttl_seconds` from now: what a sender adds
    to every command."""
    expires = (now or datetime.now(UTC)) + timedelta(seconds=ttl_seconds)
    stamp = expires.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {**body, "message_id": str(uuid.uuid4()), "expires_at": stamp}


def parse_received(name: str, payload: bytes) -> Received | Refuse:
    """The command `name` (the last topic level) with its JSON payload and envelope, or why it
    is refused."""
    found = _parse(name, payload)
    if isinstance(found, Refuse):
        return found
    body, command = found
    # RFC 3339 lets `t` and `z` be lower case; the contract's check takes them, so must this.
    expires = datetime.fromisoformat(str(body["expires_at"]).upper())
    return Received(command, str(body["message_id"]), expires, answer_id(body))


def parse_command(name: str, payload: bytes) -> Command:
    """The command `name` (the last topic level) with its JSON payload, or why it is refused."""
    found = _parse(name, payload)
    return found if isinstance(found, Refuse) else found[1]


def _parse(name: str, payload: bytes) -> tuple[dict[str, Any], Command] | Refuse:
    try:
        raw = read_json(payload, MAX_PAYLOAD)
    except PayloadError as exc:
        return Refuse(name, "", str(exc))
    if not isinstance(raw, dict):
        return Refuse(name, "", "payload must be a JSON object")
    command_id, message_id = answer_id(raw), _envelope_id(raw)
    if name not in COMMANDS:
        known = ", ".join(COMMANDS)
        return Refuse(name, command_id, f"unknown command {name!r}; known: {known}", message_id)
    problems = validate(f"cmd-{name}", raw)
    if problems:
        return Refuse(name, command_id, "; ".join(problems), message_id)
    body = with_defaults(f"cmd-{name}", raw)
    return body, _build(name, body)


def message_id_of(payload: bytes) -> str:
    """The message's own id (`message_id`) as far as it can be read from `payload`; '' when
    it cannot (not JSON, not an object, no id, an id the contract would not take)."""
    try:
        raw = read_json(payload, MAX_PAYLOAD)
    except PayloadError:
        return ""
    return _envelope_id(raw) if isinstance(raw, dict) else ""


def _envelope_id(raw: dict[str, Any]) -> str:
    found = raw.get("message_id")
    return found if is_id(found) else ""


def answer_id(raw: dict[str, Any]) -> str:
    """The id a command's answers on `cmd-result` are filed under (`command_id`)."""
    found = next((raw[k] for k in _ID_FIELDS if raw.get(k)), "")
    return found if isinstance(found, str) else ""


def _build(name: str, body: dict[str, Any]) -> Command:
    """The command from a payload its schema accepted (defaults filled in)."""
    if name == "pick":
        lines = tuple(
            PickLine(line["gtin"], int(line["quantity"]), line["batch"]) for line in body["lines"]
        )
        return PickRequest(body["pick_id"], lines, body["picker"], body["scanner"])
    if name == "pick-cancel":
        return CancelPick(body["pick_id"], body["by"])
    if name == "locate":
        seconds = body.get("seconds")
        return Locate(
            body["gtin"],
            None if seconds is None else float(seconds),
            body.get("command_id") or body["gtin"],
        )
    if name == "recall":
        return Recall(body["gtin"], body["batch"], body["note"], body["by"])
    if name == "write-off":
        quantity = body.get("quantity")
        return WriteOff(
            body["gtin"],
            body["batch"],
            body["slot"],
            None if quantity is None else int(quantity),
            body["by"],
            body["note"],
        )
    if name == "stocktake-start":
        return StocktakeStart(body["shelf"], body["by"])
    if name == "stocktake-end":
        return StocktakeEnd(body.get("stocktake_id"))
    if name == "stocktake-confirm":
        return ConfirmStocktake(body["stocktake_id"], body["by"])
    if name == "putaway":
        notice_lines = tuple(
            NoticeLine(line["gtin"], int(line["quantity"]), line["batch"], line.get("expiry"))
            for line in body["lines"]
        )
        # A request id is a UUID: the centre may write its hex digits in either case.
        request_id = body["request_id"] and body["request_id"].lower()
        return Notice(body["delivery_id"], notice_lines, request_id, body["scanner"])
    if name == "putaway-end":
        return EndPutaway(body["delivery_id"], body["by"])
    if name == "alarm-ack":
        return AckAlarm(body["alarm_id"], body["by"])
    quantity = body.get("quantity")
    return ConfirmRequest(
        body["request_id"].lower(), body["by"], None if quantity is None else int(quantity)
    )
