"""The shelves a count can judge, and where their location tags say a handheld is.

Each slot of a shelf with a GLN carries a location tag: an SGLN of the shelf's GLN with the slot's
number (1, 2, ... in the shelf's order) as extension; a tag written with the slot's name as
extension is read as that slot too. A shelf without a GLN has slots but no tags: no count."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from inventory.codes.identifiers import LocationId, sgln_uri


class ShelfTags:
    """`shelves`: each shelf's name, its GLN ('' or None: none) and its slots in order."""

    def __init__(self, shelves: Iterable[tuple[str, str | None, Sequence[str]]]):
        self.slots: dict[str, list[str]] = {}  # shelf -> its slots, in order
        self._where: dict[tuple[str, str], tuple[str, str]] = {}  # (gln, ext) -> shelf, slot
        self._shelf_of: dict[str, str] = {}  # slot -> its shelf
        self._uris: dict[str, dict[str, str]] = {}  # shelf -> slot -> its SGLN URI
        for name, gln, slots in shelves:
            self.slots[name] = list(slots)
            self._shelf_of.update((slot, name) for slot in slots)
            if not gln:
                continue
            uris = self._uris.setdefault(name, {})
            for number, slot in enumerate(slots, start=1):
                self._where[(gln, str(number))] = (name, slot)
                self._where[(gln, slot)] = (name, slot)
                uris[slot] = sgln_uri(gln, str(number))

    def where(self, tag: LocationId) -> tuple[str, str] | None:
        """The shelf and slot a location tag marks; None: not one of ours."""
        return self._where.get((tag.gln, tag.extension))

    def shelf_of(self, slot: str) -> str:
        return self._shelf_of[slot]

    def uris(self, shelf: str) -> dict[str, str] | None:
        """Slot -> SGLN URI of a shelf with location tags; None: the shelf has no GLN."""
        return self._uris.get(shelf)
