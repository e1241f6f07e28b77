"""Live parts rendered once for every browser: after a change every open page fetches its
live part again at about the same moment, and all of them showing the same view get the
same answer. So a view's live part is asked of the ledger and rendered once per change (per
`LiveFeed.generation`, and `lights_generation` for views that draw lights); while the first
browser's request renders it the others wait for it, and each browser gets those bytes with
its own session's CSRF token put in.

What differs between browsers is kept apart: the view and its query, whether someone is
logged in (forms are shown only then), and the site's date; the CSRF token is a marker in
the shared text, replaced per answer (edge.web.pages.shared_live_part).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable

SHARED_PARTS = 64  # the most (view, query, ...) answers kept; the least recently asked go


class SharedParts:
    """Rendered live parts by key, each good while the generation it was made in stands."""

    def __init__(self) -> None:
        self._parts: OrderedDict[Hashable, tuple[Hashable, asyncio.Future[tuple[int, bytes]]]] = (
            OrderedDict()
        )
        self.renders = 0  # how many times a part was rendered (the rest were shared)

    async def get(
        self,
        key: Hashable,
        generation: Hashable,
        render: Callable[[], Awaitable[tuple[int, bytes]]],
    ) -> tuple[int, bytes]:
        """(status, body) for `key`: the one rendered in `generation`, or rendered now."""
        found = self._parts.get(key)
        if found is not None and found[0] == generation and not _failed(found[1]):
            self._parts.move_to_end(key)
            return await asyncio.shield(found[1])
        self.renders += 1
        answer = asyncio.ensure_future(render())
        self._parts[key] = (generation, answer)
        self._parts.move_to_end(key)
        while len(self._parts) > SHARED_PARTS:
            self._parts.popitem(last=False)
        return await asyncio.shield(answer)


def _failed(future: asyncio.Future[tuple[int, bytes]]) -> bool:
    return future.done() and (future.cancelled() or future.exception() is not None)
