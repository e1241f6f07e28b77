"""Whether a handheld counts or picks, as its rounds show: a round that reads a shelf's
location tag is a sweep's (a picker holds packs to the handheld, not the shelf's edge), and
none of its pack reads is a pick; a round of packs alone, while pick lists its reads go to are
open (those tied to no scanner or to it), is a pick round. So the pack reads of a handheld that
is not counting wait for the end of their round: then they are picks, or held for a count
begun by command that waits for its handheld (`HELD_ROUNDS`), or nothing. A round that does
not end (its end lost, the link dropped, the handheld down) decides nothing: its reads are
dropped, never taken into the handheld's next round.

A handheld whose pack reads went to pick lists is picking while one of those lists is open: it
counts no shelf meanwhile (a handheld counts or picks, not both).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping

from inventory.codes.identifiers import PackId

HELD_ROUNDS = 100  # a handheld's last rounds held for a count begun by command it may claim

Held = deque[list[tuple[PackId, int]]]


class HandheldRounds:
    """The rounds under way of the handhelds not counting, and which handhelds pick."""

    def __init__(self, open_lists: Callable[[], Mapping[str, str]]):
        # the pick lists open: id -> the scanner or handheld it takes ('': every one)
        self._open_lists = open_lists
        # handheld -> the pick lists open when its pack reads went to them (those still open)
        self._picked_for: dict[str, set[str]] = {}
        # handheld -> its pack reads by round, the last the round under way
        self._held: dict[str, Held] = {}
        self._swept: set[str] = set()  # handhelds whose round under way read a location tag
        self._told: dict[str, str] = {}  # handheld -> what was said last about it

    def lists_for(self, reader: str) -> list[str]:
        """The open pick lists `reader`'s pack reads go to: those tied to no scanner or to it."""
        return sorted(pick for pick, only in self._open_lists().items() if only in ("", reader))

    def picks(self, reader: str) -> bool:
        """Whether `reader` is picking: a pick list its pack reads went to is still open."""
        lists = self._picked_for.get(reader)
        if lists:
            lists &= self._open_lists().keys()
        if not lists:
            self._picked_for.pop(reader, None)
        return bool(lists)

    def hold(self, reader: str, pack: PackId, rssi: int) -> None:
        """A pack read of `reader`, not counting: its round decides what it is."""
        self._held.setdefault(reader, deque([[]], maxlen=HELD_ROUNDS))[-1].append((pack, rssi))

    def swept(self, reader: str) -> None:
        """`reader`'s round under way read a shelf's location tag: a sweep's round."""
        self._swept.add(reader)

    def take(self, reader: str) -> Held:
        """The rounds held of `reader`, which now counts: they are the count's."""
        self._swept.discard(reader)
        return self._held.pop(reader, deque([[]]))

    def drop(self, reader: str) -> None:
        """What `reader` read before is not for the count waiting (it read another shelf)."""
        self._held.pop(reader, None)

    def cut(self, reader: str) -> None:
        """`reader`'s round under way did not end (its end lost on the line): its reads are of
        no round, neither picks nor a sweep's; the rounds that ended before stay held."""
        self._swept.discard(reader)
        held = self._held.get(reader)
        if held is not None and len(held) > 1:
            held[-1] = []
        else:
            self._held.pop(reader, None)

    def gone(self, reader: str) -> None:
        """`reader` went down or came back: the round it was in did not end, and what it read
        before is not for a count that finds it after (it may be anywhere by then)."""
        self._swept.discard(reader)
        self.drop(reader)

    def new_count(self) -> None:
        """A count began or found its handheld: only the rounds under way stay held."""
        for reader, held in self._held.items():
            self._held[reader] = deque([held[-1]], maxlen=HELD_ROUNDS)

    def round_done(self, reader: str, waiting: bool) -> list[PackId]:
        """`reader`'s round ended: its pack reads are picks (returned; it picks now) if it read
        no location tag and pick lists its reads go to are open; else they are held while a
        count begun by command is `waiting` for its handheld, or dropped."""
        held = self._held.get(reader)
        swept = reader in self._swept
        self._swept.discard(reader)
        if held is None:
            return []
        lists = [] if swept else self.lists_for(reader)
        if lists and held[-1]:
            self._picked_for.setdefault(reader, set()).update(lists)
            del self._held[reader]  # a picker's: none of it is for a count
            return [pack for pack, _ in held[-1]]
        if swept or not waiting:
            del self._held[reader]
        elif held[-1]:
            held.append([])
        return []

    def news(self, reader: str, text: str) -> bool:
        """Whether `text` about `reader` is new (not what was said last about it)."""
        new = self._told.get(reader) != text
        self._told[reader] = text
        return new
