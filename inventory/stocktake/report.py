"""What a stocktake found against the ledger: each pack found or missed (`Found`), each slot's
count (`SlotCount`), and the report a pharmacist confirms (`StocktakeReport`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Found:
    """One pack in the report: where the ledger has it and where the sweep found it."""

    epc: str
    gtin: str
    serial: str
    batch: str
    expiry: str | None
    ledger_slot: str | None
    seen_slot: str | None


@dataclass(slots=True)
class SlotCount:
    slot: str
    expected: int = 0
    seen: int = 0
    missing: list[Found] = field(default_factory=list)
    unexpected: list[Found] = field(default_factory=list)
    misplaced_in: list[Found] = field(default_factory=list)  # here, ledger has it elsewhere
    misplaced_out: list[Found] = field(default_factory=list)  # ledger has it here, found elsewhere
    untagged: int = 0  # counted packs the ledger has here: no tag to read


@dataclass(slots=True)
class StocktakeReport:
    stocktake_id: str
    shelf: str
    by: str
    slots: list[SlotCount]
    by_product: list[dict[str, Any]]
    location_uris: dict[str, str] = field(default_factory=dict)
    seen_by_slot: dict[str, list[str]] = field(default_factory=dict)
    # slot -> [gtin, batch, quantity] of the untagged packs the ledger counts there (its figure,
    # for people: no sweep counts them, so no EPCIS event carries them)
    untagged_by_slot: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)
    counted_at: str = ""  # UTC, when the sweep was reconciled
    time_zone_offset: str = "+00:00"  # the site's UTC offset then
    # Found on the shelf before any location tag was read, and not booked on it: no slot to
    # count them in (the ledger's, if it has them elsewhere, in `ledger_slot`).
    unplaced: list[Found] = field(default_factory=list)
    # Read by the handheld here, booked in another shelf's slot where a fixed reader still saw
    # them: read through from there, not a difference (`seen_slot`: where the handheld was).
    read_through: list[Found] = field(default_factory=list)
    # Packs the ledger holds by their code alone (no tag), found where it has them: confirming
    # gives their lines the tags read (a pack found elsewhere is misplaced, and moves with it).
    tags_found: list[Found] = field(default_factory=list)
    ledger_mark: int | None = None  # the ledger's last movement when counted
    # Slots of the shelf the sweep did not pass: not counted, nothing judged there (a report
    # kept from before this was recorded counted every slot).
    not_counted: list[str] = field(default_factory=list)
    # Slot -> the later count of the shelf that counted it again while this report waited: its
    # differences there are that count's to confirm, no longer this one's.
    recounted: dict[str, str] = field(default_factory=dict)
    # Whose badge, tapped at the shelf, confirmed it ('': none did, or not yet): it left the
    # packs `to_look_at` where the ledger has them.
    tapped_by: str = ""
    abandoned: str = ""  # why the sweep was abandoned, judging nothing ("": it was not)

    def judges(self, slot: str) -> bool:
        """Whether confirming this report books differences in `slot`: the sweep counted it,
        and no later count of the shelf counted it again while this one waited."""
        return slot not in self.not_counted and slot not in self.recounted

    def other_shelf(self, found: Found) -> bool:
        """Whether the ledger has `found` in a slot of another shelf than the one counted."""
        return found.ledger_slot is not None and all(
            found.ledger_slot != count.slot for count in self.slots
        )

    def to_look_at(self) -> list[Found]:
        """The packs found in a slot it judges that the ledger has on another shelf: maybe read
        through from there, which only a look at that shelf tells (a badge tap leaves them)."""
        judged = [c for c in self.slots if self.judges(c.slot)]
        return [f for c in judged for f in c.misplaced_in if self.other_shelf(f)]

    @property
    def differences(self) -> int:
        in_slots = sum(len(s.missing) + len(s.unexpected) + len(s.misplaced_in) for s in self.slots)
        return in_slots + len(self.unplaced)

    def differing_slots(self) -> list[str]:
        """The slots this report still judges where something differed."""
        judged = [c for c in self.slots if self.judges(c.slot)]
        return [c.slot for c in judged if c.missing or c.unexpected or c.misplaced_in]

    def summary(self) -> dict[str, int]:
        """The counts over the slots this report still judges (not those it did not count, nor
        those a later count took over: what confirming it books); a pack found without a slot
        is seen, and unexpected (not on the ledger) or misplaced (booked elsewhere)."""
        counted = [s for s in self.slots if self.judges(s.slot)]
        elsewhere = sum(1 for f in self.unplaced if f.ledger_slot is not None)
        return {
            "slots": len(counted),
            "expected": sum(s.expected for s in counted),
            "seen": sum(s.seen for s in counted) + len(self.unplaced),
            "missing": sum(len(s.missing) for s in counted),
            "unexpected": sum(len(s.unexpected) for s in counted) + len(self.unplaced) - elsewhere,
            "misplaced": sum(len(s.misplaced_in) for s in counted) + elsewhere,
        }

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (`from_dict` reads it back)."""

        def found(items: list[Found]) -> list[dict[str, Any]]:
            return [
                {
                    "epc": f.epc,
                    "gtin": f.gtin,
                    "serial": f.serial,
                    "batch": f.batch,
                    "expiry": f.expiry,
                    "ledger_slot": f.ledger_slot,
                    "seen_slot": f.seen_slot,
                }
                for f in items
            ]

        return {
            "stocktake_id": self.stocktake_id,
            "shelf": self.shelf,
            "by": self.by,
            "slots": [
                {
                    "slot": c.slot,
                    "expected": c.expected,
                    "seen": c.seen,
                    "missing": found(c.missing),
                    "unexpected": found(c.unexpected),
                    "misplaced_in": found(c.misplaced_in),
                    "misplaced_out": found(c.misplaced_out),
                    "untagged": c.untagged,
                }
                for c in self.slots
            ],
            "by_product": self.by_product,
            "location_uris": self.location_uris,
            "seen_by_slot": self.seen_by_slot,
            "untagged_by_slot": {k: [list(t) for t in v] for k, v in self.untagged_by_slot.items()},
            "counted_at": self.counted_at,
            "time_zone_offset": self.time_zone_offset,
            "unplaced": found(self.unplaced),
            "read_through": found(self.read_through),
            "tags_found": found(self.tags_found),
            "ledger_mark": self.ledger_mark,
            "not_counted": self.not_counted,
            "recounted": self.recounted,
            "tapped_by": self.tapped_by,
            "abandoned": self.abandoned,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> StocktakeReport:
        def counts(s: dict[str, Any]) -> SlotCount:
            def found(name: str) -> list[Found]:
                return [Found(**f) for f in s[name]]

            return SlotCount(
                s["slot"],
                s["expected"],
                s["seen"],
                missing=found("missing"),
                unexpected=found("unexpected"),
                misplaced_in=found("misplaced_in"),
                misplaced_out=found("misplaced_out"),
                untagged=s["untagged"],
            )

        return cls(
            raw["stocktake_id"],
            raw["shelf"],
            raw["by"],
            [counts(s) for s in raw["slots"]],
            raw["by_product"],
            raw["location_uris"],
            raw["seen_by_slot"],
            {
                slot: [(str(g), str(b), int(q)) for g, b, q in lines]
                for slot, lines in raw.get("untagged_by_slot", {}).items()
            },
            raw.get("counted_at", ""),
            raw.get("time_zone_offset", "+00:00"),
            [Found(**f) for f in raw.get("unplaced", [])],
            [Found(**f) for f in raw.get("read_through", [])],
            [Found(**f) for f in raw.get("tags_found", [])],
            raw.get("ledger_mark"),
            list(raw.get("not_counted", [])),
            dict(raw.get("recounted", {})),
            str(raw.get("tapped_by", "")),
            str(raw.get("abandoned", "")),
        )
