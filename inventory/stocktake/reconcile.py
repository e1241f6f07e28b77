"""A finished sweep against the ledger: what was seen in each slot the sweep passed compared
with what the ledger holds there: missing, unexpected, misplaced. A slot it did not pass was not
counted: nothing there is missing (its packs may still be found in a slot passed: misplaced).

A tag read of a pack the ledger holds by its code alone (its GTIN and serial booked from a
scan or a button press, without the tag) is that pack, as when a fixed reader sees it: found
where the ledger has it, it is no difference; elsewhere, it is misplaced. A pack a fixed reader
still sees in the slot the ledger has it in was read through from there by the handheld: it is
where the ledger says, whatever slot the handheld was at.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from inventory.codes.identifiers import PackId
from inventory.stock.slot_index import StockLine
from inventory.stocktake.report import Found, SlotCount, StocktakeReport
from inventory.stocktake.sweep import UNPLACED


def reconcile(
    sweep_id: str,
    shelf: str,
    by: str,
    slots: Sequence[str],
    seen: dict[str, str],
    packs: dict[str, PackId],
    tagged: Iterable[StockLine],
    untagged: Iterable[StockLine] = (),
    location_uris: dict[str, str] | None = None,
    moved: frozenset[str] = frozenset(),
    watched: Mapping[str, str] | None = None,
    passed: Collection[str] | None = None,
) -> StocktakeReport:
    """Compare the sweep (`seen`: EPC -> slot) with the ledger's tagged packs (`tagged`, every
    tagged line of the ledger: a pack found here may be booked anywhere) and its untagged
    lines (`untagged`: counted packs, and serialized packs booked by their code). A pack seen
    `UNPLACED` counts in its ledger slot when that is on this shelf, else it is listed found
    without a slot. Packs in `moved` (the ledger moved them during the sweep) are counted but
    never a difference: where the handheld found them and where the ledger has them now may
    both be true. `watched`: EPC -> the slot a fixed reader still sees the pack in. `passed`:
    the slots the sweep counted (None: every one); the others are listed `not_counted`."""
    swept = {slot: i for i, slot in enumerate(slots)}
    # Per slot (and last, for "elsewhere or none"): whether the sweep counted it.
    counted = np.array([passed is None or slot in passed for slot in slots] + [False])
    lines = {line.epc: line for line in tagged if line.epc}
    untagged, linked = _tags_of_coded(seen, packs, lines, list(untagged))
    seen = {epc: _placed(slot, lines.get(epc), swept) for epc, slot in seen.items()}
    through = _read_through(seen, lines, swept, watched or {})
    # Every pack once: the ledger's tagged packs, then those only the sweep saw.
    epcs = [*lines, *(epc for epc in seen if epc not in lines)]
    nowhere = -1
    known_count = len(lines)
    # Ledger slot and sweep slot of each pack, as indexes into `slots` (-1: elsewhere or none).
    booked = np.array(
        [swept.get(line.slot, nowhere) for line in lines.values()]
        + [nowhere] * (len(epcs) - known_count),
        dtype=np.int64,
    )
    found = np.array([swept.get(seen.get(epc, UNPLACED), nowhere) for epc in epcs], dtype=np.int64)
    known = np.arange(len(epcs)) < known_count  # on the ledger at all
    seen_any = found != nowhere
    judged = np.array([epc not in moved for epc in epcs], dtype=bool)
    # Ledger slot and sweep slot within the slots counted (-1: not counted, elsewhere, none).
    booked_here = np.where(counted[booked], booked, nowhere)
    found_here = np.where(counted[found], found, nowhere)
    missing = np.nonzero(judged & (booked_here != nowhere) & ~seen_any)[0]
    unexpected = np.nonzero(judged & (found_here != nowhere) & ~known)[0]
    misplaced = np.nonzero(judged & (found_here != nowhere) & known & (booked != found))[0]

    counts = [SlotCount(slot) for slot in slots]
    expected = np.bincount(booked[booked != nowhere], minlength=len(slots))
    seen_n = np.bincount(found[seen_any], minlength=len(slots))
    for i, count in enumerate(counts):
        count.expected, count.seen = int(expected[i]), int(seen_n[i])

    def entry(i: int) -> Found:
        epc = epcs[i]
        return _found(epc, lines.get(epc), packs.get(epc), seen.get(epc), swept)

    for k in missing.tolist():
        counts[booked[k]].missing.append(entry(k))
    for k in unexpected.tolist():
        counts[found[k]].unexpected.append(entry(k))
    for k in misplaced.tolist():
        item = entry(k)
        counts[found[k]].misplaced_in.append(item)
        if booked[k] != nowhere:
            counts[booked[k]].misplaced_out.append(item)
    untagged_here: dict[str, dict[tuple[str, str], int]] = {}
    for line in untagged:  # the ledger's counted packs: in the slots counted
        if line.slot in swept and counted[swept[line.slot]]:
            counts[swept[line.slot]].untagged += line.quantity
            batches = untagged_here.setdefault(line.slot, {})
            key = (line.gtin, line.batch)
            batches[key] = batches.get(key, 0) + line.quantity
    unplaced = [
        entry(k) for k, epc in enumerate(epcs) if seen.get(epc) == UNPLACED and epc not in moved
    ]
    by_slot: dict[str, list[str]] = {}
    for epc, slot in seen.items():
        if slot in swept:
            by_slot.setdefault(slot, []).append(epc)
    report = StocktakeReport(
        sweep_id,
        shelf,
        by,
        counts,
        _by_product(epcs, lines, packs, booked_here, found_here),
        dict(location_uris or {}),
        by_slot,
        {
            slot: [(gtin, batch, n) for (gtin, batch), n in sorted(batches.items())]
            for slot, batches in untagged_here.items()
        },
        unplaced=unplaced,
        not_counted=[slot for i, slot in enumerate(slots) if not counted[i]],
    )
    report.read_through = [
        _found(epc, lines[epc], packs.get(epc), slot, swept) for epc, slot in through.items()
    ]
    report.tags_found = [
        entry(k)
        for k, epc in enumerate(epcs)
        if epc in linked and epc not in moved and seen.get(epc) == lines[epc].slot
    ]
    return report


def _tags_of_coded(
    seen: dict[str, str],
    packs: dict[str, PackId],
    lines: dict[str, StockLine],
    untagged: list[StockLine],
) -> tuple[list[StockLine], set[str]]:
    """Tags read of packs the ledger holds by their code (GTIN and serial, no tag) join those
    lines in `lines`, as tagged packs. Returns the untagged lines left, and the EPCs joined."""
    by_code = {(line.gtin, line.serial): line for line in untagged if line.serial}
    joined: list[StockLine] = []
    linked: set[str] = set()
    if not by_code:
        return untagged, linked
    for epc in seen:
        pack = packs.get(epc)
        if epc in lines or pack is None or not pack.serial:
            continue
        line = by_code.pop((pack.gtin, pack.serial), None)
        if line is not None:
            lines[epc] = replace(line, epc=epc)
            joined.append(line)
            linked.add(epc)
    gone = {id(line) for line in joined}  # the lines themselves: equal lines may be two
    return [line for line in untagged if id(line) not in gone], linked


def _read_through(
    seen: dict[str, str],
    lines: dict[str, StockLine],
    swept: dict[str, int],
    watched: Mapping[str, str],
) -> dict[str, str]:
    """Packs seen elsewhere than the ledger's slot, where a fixed reader still sees them: on
    this shelf they count in their slot (in `seen`); booked on another shelf, they are taken
    out of `seen`. Returns those, EPC -> where the handheld read them."""
    through: dict[str, str] = {}
    if not watched:
        return through
    for epc, slot in list(seen.items()):
        line = lines.get(epc)
        if line is None or slot == line.slot or watched.get(epc) != line.slot:
            continue
        if line.slot in swept:
            seen[epc] = line.slot
        else:
            through[epc] = seen.pop(epc)
    return through


def _found(
    epc: str, line: StockLine | None, pack: PackId | None, slot: str | None, swept: dict[str, int]
) -> Found:
    """One pack in the report, from its ledger line (if any) and its tag."""
    return Found(
        epc,
        line.gtin if line else pack.gtin if pack else "",
        line.serial if line else pack.serial if pack else "",
        line.batch if line else "",
        line.expiry if line else None,
        line.slot if line else None,
        slot if slot in swept else None,
    )


def _placed(slot: str, line: StockLine | None, swept: dict[str, int]) -> str:
    """The slot a pack seen counts in: one read before any location tag (`UNPLACED`) counts
    in its ledger slot when that is on the shelf swept."""
    if slot == UNPLACED and line is not None and line.slot in swept:
        return line.slot
    return slot


def _by_product(
    epcs: list[str],
    lines: dict[str, StockLine],
    packs: dict[str, PackId],
    booked: np.ndarray[Any, Any],
    found: np.ndarray[Any, Any],
) -> list[dict[str, Any]]:
    """Expected and seen per GTIN and batch over the slots counted (one bincount each)."""
    keys: dict[tuple[str, str], int] = {}
    codes = []
    for epc in epcs:
        line = lines.get(epc)
        key = (line.gtin, line.batch) if line else (packs[epc].gtin if epc in packs else "", "")
        codes.append(keys.setdefault(key, len(keys)))
    product = np.array(codes, dtype=np.int64)
    expected = np.bincount(product[booked != -1], minlength=len(keys))
    seen = np.bincount(product[found != -1], minlength=len(keys))
    return [
        {"gtin": g, "batch": b, "expected": int(e), "seen": int(n), "difference": int(n - e)}
        for (g, b), e, n in sorted(zip(keys, expected, seen, strict=True))
        if e or n
    ]
