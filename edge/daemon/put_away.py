"""Put-away's part of the daemon's changes: tags that confirm a put, the desks' shared clock.

Everything here runs on the ledger's writer thread, called from edge.daemon.changes.
"""

from __future__ import annotations

from inventory.keeper import InventoryKeeper
from inventory.picking.outcome import Outcome
from inventory.stock.presence import Arrived, Moved


def put_away_by_tag(change: object, keeper: InventoryKeeper) -> Outcome | None:
    """A fixed reader saw a tag arrive (or move) that a put-away session waits for: the put
    (or the wrong slot) it means; None when no session waits for it."""
    if not keeper.putaways.sessions:
        return None
    if isinstance(change, Arrived):
        return keeper.putaways.tag_arrived(change.pack, change.slot)
    if isinstance(change, Moved) and keeper.line_of_epc(change.epc) is None:
        return keeper.putaways.tag_moved(change.epc, change.to_slot)
    return None


def tick_desks(keeper: InventoryKeeper) -> Outcome:
    """One beat of the clock for the pick and put-away desks: reminders, timeouts, red ending."""
    picks, puts = keeper.picks.tick(), keeper.putaways.tick()
    return Outcome(
        commits=picks.commits + puts.commits,
        notes=picks.notes + puts.notes,
        mistakes=picks.mistakes,
        booked_epcs=picks.booked_epcs,
        placed=picks.placed,
        lights_changed=picks.lights_changed or puts.lights_changed,
    )
