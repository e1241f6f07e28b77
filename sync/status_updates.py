"""The centre's answers to procurement requests (``procurement/status``), checked against the
contract before anything is done with them."""

from __future__ import annotations

from dataclasses import dataclass

from inventory.replenishment.requests import RequestStatus
from sync.contract import MAX_PAYLOAD, validate, with_defaults
from sync.inbound_json import PayloadError, read_json

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
    try:
        raw = read_json(payload, MAX_PAYLOAD)
    except PayloadError as exc:
        return str(exc)
    problems = validate(MESSAGE, raw)
    if problems:
        return "; ".join(problems)
    body = with_defaults(MESSAGE, raw)
    return StatusUpdate(
        body["request_id"], RequestStatus(body["status"]), body["note"], body["by"], body.get("at")
    )
