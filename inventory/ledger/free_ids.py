"""Ids people read (a stocktake, a put-away session) made from a name and a time, kept apart
when two would be the same: the second gets `-2`, the next `-3`, and so on."""

from __future__ import annotations

from collections.abc import Callable


def first_free(base: str, taken: Callable[[str], bool]) -> str:
    """`base`, or `base-2`, `base-3`, ... : the first one not `taken`."""
    found, n = base, 1
    while taken(found):
        n += 1
        found = f"{base}-{n}"
    return found
