"""The procurement side of the contract: receiving requests from every gateway, once each."""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

REQUIRED_FIELDS = (
    "request_id",
    "created_at",
    "gtin",
    "name",
    "quantity",
    "unit",
    "priority",
    "reason",
    "confirmed_by",
)


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    """A procurement request as the centre receives it."""

    topic: str
    body: dict[str, Any]

    @property
    def request_id(self) -> str:
        return str(self.body["request_id"])

    def line(self) -> str:
        """One readable line for a clerk."""
        b = self.body
        reason = b.get("reason", {})
        return (
            f"{b['created_at']}  {b.get('site', '?')}/{b.get('gateway', '?')}  "
            f"{b['priority'].upper():7}  {b['quantity']} x {b['unit']}  {b['name']} "
            f"(GTIN {b['gtin']})  on hand {reason.get('on_hand')}, on order "
            f"{reason.get('on_order')}, reorder point {reason.get('reorder_point')}, "
            f"par {reason.get('par')}  [{b['request_id']}]"
        )


class MalformedRequest(ValueError):
    """A message on a request topic that is not a valid request."""


def parse_request(topic: str, payload: bytes) -> ReceivedRequest:
    """Decode and check one request message."""
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedRequest(f"{topic}: payload is not JSON ({exc})") from None
    if not isinstance(body, dict):
        raise MalformedRequest(f"{topic}: payload is not a JSON object")
    missing = [name for name in REQUIRED_FIELDS if name not in body]
    if missing:
        raise MalformedRequest(f"{topic}: request lacks {', '.join(missing)}")
    return ReceivedRequest(topic, body)


class RequestDeduplicator:
    """Delivery is at least once; this makes the clerk see each request_id once."""

    def __init__(self, on_request: Callable[[ReceivedRequest], None], memory: int = 100_000):
        self._on_request = on_request
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._memory = memory
        self.duplicates = 0
        self.malformed = 0

    def __call__(self, topic: str, payload: bytes) -> None:
        try:
            request = parse_request(topic, payload)
        except MalformedRequest as exc:
            self.malformed += 1
            log.warning("ignored: %s", exc)
            return
        if request.request_id in self._seen:
            self.duplicates += 1
            return
        self._seen[request.request_id] = None
        if len(self._seen) > self._memory:
            self._seen.popitem(last=False)
        self._on_request(request)
