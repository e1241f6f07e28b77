"""Counted packs put by button a moment ago, and a tag read in their slot then.

A pack scanned without a serial (its code carries none) may carry a tag all the same. Put by
its button, it is booked as a counted pack and kept a while (`PutawaySession.untagged`): a tag
of its GTIN read in its slot soon after (`PutawayBoard.untagged_since`) is its own, not a
second pack. One of the slot's counted packs of its batch becomes the tagged one (a count
adjustment out of the counted line, one in with the tag's serial and EPC); nothing more is
booked. Later, the pack counts as untagged for good.

A tag (SGTIN) names no batch: where counted packs of more than one batch were just put by
button in the slot, which one it is cannot be told. It joins none of them: it is booked as a
pack of its own, of unknown batch and expiry (as any tag the ledger does not hold), and the
activity log says why. The counted packs keep their batches and dates, so that a recall and
the expiry sweep still find each of them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from inventory.codes.identifiers import PackId
from inventory.ledger.movements import Movement, MovementKind
from inventory.picking.outcome import Outcome
from inventory.putaway.board import PutawayBoard
from inventory.putaway.ledger_access import PutawayLedger
from inventory.putaway.sessions import PressedPack, PutawaySession
from inventory.stock.slot_index import StockLine


@dataclass(frozen=True, slots=True)
class Pressed:
    """A counted pack an open session put by button, with the ledger's counted line of its
    batch in its slot."""

    session: PutawaySession
    pack: PressedPack
    line: StockLine


class PressedPacks:
    """The counted packs put by button a moment ago, and the tags that join them."""

    def __init__(self, keeper: PutawayLedger, board: PutawayBoard):
        self._keeper = keeper
        self._board = board

    def in_slot(self, gtin: str, slot: str) -> list[Pressed]:
        """The counted packs of `gtin` open sessions put in `slot` by button whose tag was not
        seen yet, and that do not count as untagged for good yet, the oldest session's first."""
        since = self._board.untagged_since
        lines = [x for x in self._keeper.index.lines_of(gtin, "") if x.slot == slot]
        found = []
        for session in self._board.by_age():
            for pack in session.untagged:
                if (pack.gtin, pack.slot) != (gtin, slot) or pack.at <= since:
                    continue
                line = next((x for x in lines if x.batch == pack.batch), None)
                if line is not None:
                    found.append(Pressed(session, pack, line))
        return found

    def tag_of(self, pressed: list[Pressed], tag: PackId) -> Outcome:
        """A tag read where the counted packs `pressed` were just put: the tag of one of them,
        when they are of one batch; else a pack of unknown batch (see the module)."""
        if len({p.pack.batch for p in pressed}) > 1:
            return self._unknown_batch(pressed, tag)
        session, pack, line = pressed[0].session, pressed[0].pack, pressed[0].line
        keeper, slot = self._keeper, line.slot
        reason = (
            f"its tag seen in {slot}: the counted pack of delivery {session.delivery_id} "
            f"put there by button is serial {tag.serial}"
        )
        counted = line.leaving(
            MovementKind.COUNT_ADJUSTMENT, None, "system", reason, session.delivery_id
        )
        tagged = replace(
            counted,
            serial=tag.serial,
            epc=tag.epc,
            from_slot=None,
            to_slot=slot,
            to_status=line.status,
        )
        out = Outcome()
        with keeper.group():
            out.commits.append(keeper.commit([counted, tagged]))
            session.untagged.remove(pack)
            self._board.save(session)
        out.placed[tag.epc] = slot
        out.putaway_notes.append(
            f"put-away {session.delivery_id}: GTIN {tag.gtin} serial {tag.serial} seen in "
            f"{slot}: the counted pack put there by button, its tag now booked with it"
        )
        return out

    def _unknown_batch(self, pressed: list[Pressed], tag: PackId) -> Outcome:
        """The tag of one of the counted packs `pressed`, of more than one batch: booked as a
        pack of its own, of unknown batch and expiry, the counted packs left as they are."""
        slot = pressed[0].line.slot
        batches = ", ".join(sorted({p.pack.batch for p in pressed}))
        deliveries = ", ".join(sorted({p.session.delivery_id for p in pressed}))
        why = (
            f"seen in {slot}, where counted packs of batches {batches} (delivery {deliveries}) "
            f"were just put by button: which one it is cannot be told"
        )
        movement = Movement(
            MovementKind.PUT_AWAY,
            tag.gtin,
            serial=tag.serial,
            epc=tag.epc,
            to_slot=slot,
            reason=why,
        )
        out = Outcome([self._keeper.commit([movement])])
        out.placed[tag.epc] = slot
        out.putaway_notes.append(
            f"put-away {deliveries}: GTIN {tag.gtin} serial {tag.serial} {why}; booked as a "
            f"pack of unknown batch and expiry, the counted packs keep theirs"
        )
        return out
