"""The consumer group's register of requests: a key-value bucket in the cluster where a member
takes a request before applying it (which only one member can do) and marks it done after.

A request's entry is keyed by its site, gateway and id (`s1.g1.ID`, RequestKey.dotted): the
same id from another gateway is another request. Watches before this key kept an entry by the
id alone, and such a watch may still be a member of the group (a centre upgrading its desks one
at a time) or have left entries behind. So a member takes the id's entry as well, first: one
created by an earlier watch (it names no gateway) stands for that id from any gateway, as the
earlier watch reads it, and says whether the request is taken or done; one created here names
the gateway whose request holds it, and keeps an earlier member off that request (to it, the
same id from another gateway is a copy, as it always was). An entry says which message took
the request (its place in the stream): that message, delivered again because its taker did not
finish, finishes it; any other message of the request is a copy.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import nats
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from sync.procurement_feed import ReceivedRequest

log = logging.getLogger(__name__)

TAKEN, DONE = "taken", "done"
MARK_AGAIN_SECONDS = 0.5  # between tries to mark an applied request done


@dataclass(frozen=True, slots=True)
class Taking:
    """A request this member is to apply: `finishing` one another member took and did not
    finish; `by_id`, the id's own entry is this request's, to be marked done with it."""

    finishing: bool
    by_id: bool


class RequestRegister:
    """The register `kv` as member `member` of the group uses it."""

    def __init__(self, kv: KeyValue, member: str):
        self.kv = kv
        self.member = member

    async def take(self, request: ReceivedRequest, sequence: int) -> Taking | None:
        """What this member is to do with `request`, in the message at stream `sequence`:
        apply it (it took it, or found it taken by this very message, delivered again), or
        nothing (None): it is done already, or taken by another message, which comes again
        until it is done (a copy applied now could be applied twice)."""
        entry = self._entry(TAKEN, request, message=sequence)
        by_id = request.request_id
        created = await self._create(by_id, entry)
        ours = created
        if not created:
            held = await self._get(by_id)
            if held is None:
                return await self.take(request, sequence)  # removed in between (its time ran out)
            if "gateway" not in held:  # an earlier watch's: the id at any gateway
                return _judged(held, sequence, by_id=True)
            ours = (held.get("site"), held["gateway"]) == request.key[:2]
        key = request.key.dotted()
        if await self._create(key, entry):
            return Taking(finishing=False, by_id=ours)
        found = await self._get(key)
        if found is None:
            return await self.take(request, sequence)
        if created:  # taken without the id's entry (as the version before this one did): the
            # id's entry just made says what the key's says, for members that read ids alone
            await self.kv.put(by_id, self._encode({**found, **self._names(request)}))
        return _judged(found, sequence, by_id=ours)

    async def finish(self, request: ReceivedRequest, taking: Taking) -> None:
        """Mark `request` done. Once it is applied this is tried until the cluster takes it
        (the batch held meanwhile): given back instead, it would be applied again."""
        done = self._encode(self._entry(DONE, request))
        keys = [request.key.dotted(), *([request.request_id] if taking.by_id else [])]
        await asyncio.gather(*(self._put_until_taken(key, done) for key in keys))

    async def _put_until_taken(self, key: str, value: bytes) -> None:
        while True:
            try:
                await self.kv.put(key, value)
                return
            except (nats.errors.Error, TimeoutError) as exc:
                log.info("marking %s done: %r; trying again", key, exc)
                await asyncio.sleep(MARK_AGAIN_SECONDS)

    async def _create(self, key: str, entry: dict[str, Any]) -> bool:
        try:
            await self.kv.create(key, self._encode(entry))
        except KeyWrongLastSequenceError:
            return False
        return True

    async def _get(self, key: str) -> dict[str, Any] | None:
        try:
            held = await self.kv.get(key)
        except KeyNotFoundError:
            return None
        found = json.loads(held.value or b"{}")
        return found if isinstance(found, dict) else {}

    def _entry(self, state: str, request: ReceivedRequest, **more: object) -> dict[str, Any]:
        return {"state": state, "by": self.member, "at": _now(), **more, **self._names(request)}

    @staticmethod
    def _names(request: ReceivedRequest) -> dict[str, str]:
        return {"site": request.key.site, "gateway": request.key.gateway}

    @staticmethod
    def _encode(entry: dict[str, Any]) -> bytes:
        return json.dumps(entry).encode()


def _judged(found: dict[str, Any], sequence: int, by_id: bool) -> Taking | None:
    """Whether the message at `sequence` finishes the request `found` held taken."""
    if found.get("state") == DONE or found.get("message", sequence) != sequence:
        return None
    return Taking(finishing=True, by_id=by_id)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
