"""What the pick desk reports on `cmd-result`, and the times that drive it."""

from __future__ import annotations

import json
from dataclasses import dataclass

from inventory.ledger.outbox import MessageKind, OutboxMessage
from inventory.picking.checks import Match
from inventory.picking.lists import PickList
from inventory.stock.slot_index import StockLine


@dataclass(frozen=True, slots=True)
class PickTimes:
    """How long a list may sit untouched before its reminder and its timeout, how long a
    mistake is shown (and a wrongly taken tagged pack is waited for), a locate's default, and
    how long a fixed reader sees a tag before it counts as arrived (`presence.dwell_seconds`)."""

    remind_after_seconds: float = 120.0
    timeout_seconds: float = 600.0
    mistake_seconds: float = 30.0
    locate_seconds: float = 30.0
    dwell_seconds: float = 5.0


def message(at: str, command: str, command_id: str, status: str, **fields: object) -> OutboxMessage:
    """One `cmd-result` message: which command, which one of them, what became of it, when."""
    body = {"command": command, "command_id": command_id, "status": status, "at": at, **fields}
    return OutboxMessage(
        MessageKind.COMMAND_RESULT, json.dumps(body, separators=(",", ":")), key=command_id
    )


@dataclass(frozen=True, slots=True)
class Reply:
    """The command message being carried out: its id, the command's name, and the id its
    answers are filed under."""

    message_id: str
    command: str
    answer_id: str

    def mark(self, out: OutboxMessage) -> OutboxMessage:
        """`out`, naming this message (`reply_to`) when it answers it: a `cmd-result` of this
        command, or filed under its id (a cancel is answered as the list's end). What else
        the command leads to (another list ended by a recall) is left as it is: it answers
        no message."""
        if out.kind is not MessageKind.COMMAND_RESULT:
            return out
        body = json.loads(out.payload)
        if body.get("command") != self.command and not (
            self.answer_id and out.key == self.answer_id
        ):
            return out
        named = {
            "command": body["command"],
            "command_id": body["command_id"],
            "reply_to": self.message_id,
            **body,
        }
        return OutboxMessage(out.kind, json.dumps(named, separators=(",", ":")), out.key)


def progress(at: str, pick: PickList, match: Match, stock: StockLine, how: str) -> OutboxMessage:
    """The report of one pack picked."""
    line = match.line
    return message(
        at,
        "pick",
        pick.pick_id,
        "progress",
        line=match.line_no + 1,
        gtin=stock.gtin,
        batch=stock.batch,
        serial=stock.serial or None,
        expiry=stock.expiry,
        slot=stock.slot,
        picked=line.picked,
        quantity=line.quantity,
        remaining=line.remaining,
        short=line.short,
        confirmed_by=how,
    )
