"""Which put-away session a pack scanned at a desk belongs to: what its clerk is doing.

A clerk at a desk works one delivery at a time: the pack belongs to the delivery at work
there while that still awaits it, then to the next delivery announced for that desk, then to
one announced for no desk (unless the clerk's own delivery of that product is at work: the
pack is its extra, and another desk may be about to begin the other). A paused delivery (its
clerk on a break) takes only a pack it still awaits, and only when no delivery at work or
announced awaits it: it does not take a newer delivery's packs; but a pack it let go of (lit
when it paused), known by its serial, is its own wherever it is scanned again. Extra packs
of a product are the excess of the clerk's own delivery of it, or of the one just put in
full there (when no notice awaits the product); another product goes to the session at work
there, never to one put in full. A notice that has not begun takes only packs it announced.
"""

from __future__ import annotations

from collections.abc import Sequence

from inventory.putaway.sessions import PutawaySession


def session_for(
    sessions: Sequence[PutawaySession], scanner: str, gtin: str, batch: str, serial: str = ""
) -> PutawaySession | None:
    """The open session (of `sessions`, oldest first) a pack of `gtin`, `batch` and `serial`
    scanned at `scanner` belongs to; None when it begins a session of its own there."""
    if serial:  # a pack a delivery let go of (lit when it paused), scanned again: its own
        for session in sessions:
            if any((p.gtin, p.serial) == (gtin, serial) for p in session.let_go):
                return session
    here = [s for s in sessions if s.scanner == scanner and s.at_work and not s.paused]
    working = [s for s in here if not s.finishing]
    unbegun = [s for s in sessions if s.announced and not s.at_work and not s.paused]
    paused = [s for s in sessions if s.paused and (s.scanner == scanner or not here)]
    paused.sort(key=lambda s: s.scanner != scanner)  # back at its own desk first
    # Its own delivery of this product, in excess: its batch's line first.
    excess = [s for s in working if any(line.gtin == gtin for line in s.lines)]
    ranks = (
        working,
        [s for s in unbegun if s.scanner == scanner],
        [] if excess else [s for s in unbegun if not s.scanner],
        paused,
    )
    for rank in ranks:
        awaiting = [s for s in rank if s.still_expected(gtin, batch) > 0]
        if awaiting:
            return awaiting[0]
    # Nobody awaits it: a pack more of the delivery at work, else of the one put in full.
    excess = excess or [s for s in here if s.finishing and any(ln.gtin == gtin for ln in s.lines)]
    excess.sort(key=lambda s: not any(line.accepts(gtin, batch) for line in s.lines))
    return next(iter(excess or working), None)
