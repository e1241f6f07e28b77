"""The centre's answers to procurement requests (``procurement/status``), checked against the
contract before anything is done with them: a valid one is the ledger's `RequestAnswer`."""

from __future__ import annotations

from inventory.changes import RequestAnswer
from inventory.replenishment.requests import RequestStatus
from sync.contract import MAX_PAYLOAD, is_id, validate, with_defaults
from sync.inbound_json import PayloadError, read_json

MESSAGE = "procurement-status"


def parse_status_update(payload: bytes) -> RequestAnswer | str:
    """The update in `payload`, or what is wrong with it in words."""
    try:
        raw = read_json(payload, MAX_PAYLOAD)
    except PayloadError as exc:
        return str(exc)
    problems = validate(MESSAGE, raw)
    if problems:
        return "; ".join(problems)
    body = with_defaults(MESSAGE, raw)
    return RequestAnswer(
        body["request_id"],
        RequestStatus(body["status"]),
        body["note"],
        body["by"],
        body.get("at"),
        body.get("message_id", ""),
    )


def named_ids(payload: bytes) -> tuple[str, str]:
    """The request id and the message id an update names, even one refused (its refusal is
    filed under the request and names the message in `reply_to`); '' for a request id that is
    not text and for a message id the contract would not take."""
    try:
        raw = read_json(payload, MAX_PAYLOAD)
    except PayloadError:
        return "", ""
    named = raw if isinstance(raw, dict) else {}
    request_id, message_id = named.get("request_id"), named.get("message_id")
    return (
        request_id if isinstance(request_id, str) else "",
        message_id if is_id(message_id) else "",
    )
