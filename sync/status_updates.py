"""The centre's answers to procurement requests (``procurement/status``), checked against the
contract before anything is done with them."""

from __future__ import annotations

import json
from dataclasses import dataclass

from inventory.replenishment.requests import RequestStatus
from sync.contract import MAX_PAYLOAD, validate, with_defaults

MESSAGE = "procurement-status"


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """What became of request `request_id`, said by `by` (at `at`, when the centre said)."""

    request_id: str
    status: RequestStatus
    note: str
    by: str
    at: str | None


def parse_status_update(payload: bytes) -> StatusUpdate | str:
    """The update in `payload`, or what is wrong with it in words."""
    if len(payload) > MAX_PAYLOAD:
        return f"payload of {len(payload)} bytes; at most {MAX_PAYLOAD}"
    try:
        raw = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"payload is not JSON: {exc}"
    problems = validate(MESSAGE, raw)
    if problems:
        return "; ".join(problems)
    body = with_defaults(MESSAGE, raw)
    return StatusUpdate(
        body["request_id"], RequestStatus(body["status"]), body["note"], body["by"], body.get("at")
    )
