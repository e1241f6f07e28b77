"""A stocktake report for people (a terminal table) and for other systems (EPCIS 2.0)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from inventory.ledger.commit import iso
from inventory.stocktake.epcis import count_events, epcis_document
from inventory.stocktake.report import Found, StocktakeReport

# Why a slot of the shelf was not counted, as the command line and the page say it.
NOT_PASSED = "the sweep did not pass it (its location tag unread, or read only from the next slot)"
# What a badge tap left unbooked, as the command line and the page say it.
LEFT_BY_TAP = (
    "left where the ledger has them (booked on another shelf, maybe read through from there: "
    "count that shelf to be sure)"
)


def abandoned_why(report: StocktakeReport) -> str:
    """Why a sweep was abandoned (a report kept from before the reason was: the ways it can be)."""
    return report.abandoned or (
        "its handheld read nothing or was gone too long, or the gateway stopped during it: "
        "sweep the shelf again"
    )


def _packs(found: list[Found], where: str = "") -> str:
    def one(f: Found) -> str:
        place = {"ledger": f.ledger_slot, "seen": f.seen_slot}.get(where)
        return f"{f.gtin}/{f.serial}" + (f" ({where} {place})" if where and place else "")

    return ", ".join(one(f) for f in found)


def _site_time(report: StocktakeReport) -> str:
    """When the count ended (or was abandoned), in the site's time as it was then."""
    moment = datetime.fromisoformat(report.counted_at)
    sign = -1 if report.time_zone_offset.startswith("-") else 1
    hours, minutes = report.time_zone_offset[1:].split(":")
    zone = timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))
    return moment.astimezone(zone).strftime(f"%Y-%m-%d %H:%M {report.time_zone_offset}")


def report_table(report: StocktakeReport, state: str) -> str:
    """Per slot: expected, seen, and each difference named; then the counts per product."""
    ended = "abandoned" if state == "abandoned" else "counted"
    head = (
        f"stocktake {report.stocktake_id} of shelf {report.shelf} by {report.by or '-'} ({state})"
        + (f", {ended} {_site_time(report)}" if report.counted_at else "")
    )
    if state == "abandoned":  # nothing counted, nothing judged: no figures to show
        return f"{head}\nnot counted: the sweep was abandoned: {abandoned_why(report)}"
    s = report.summary()
    lines = [
        head,
        f"{s['seen']} packs seen of {s['expected']} expected in {s['slots']} slots: "
        f"{s['missing']} missing, {s['unexpected']} unexpected, {s['misplaced']} misplaced"
        + (
            f"; not counted (the sweep did not pass them): {', '.join(report.not_counted)}"
            if report.not_counted
            else ""
        ),
    ]
    tapped = report.tapped_by if state == "confirmed" else ""
    if tapped:
        left = report.to_look_at()
        lines.append(
            f"confirmed by {tapped}'s badge at the shelf"
            + (f"; {LEFT_BY_TAP}: {_packs(left, 'ledger')}" if left else "")
        )
    lines += ["", f"{'slot':8} {'expected':>8} {'seen':>5}  differences"]
    differing = report.differing_slots()
    for count in report.slots:
        notes = []
        if count.slot in report.not_counted:
            notes.append(f"not counted: {NOT_PASSED}")
        elif count.slot in report.recounted:
            notes.append(f"counted again by {report.recounted[count.slot]}, which books it")
        if count.missing:
            notes.append("missing " + _packs(count.missing))
        if count.unexpected:
            notes.append("not on the ledger " + _packs(count.unexpected))
        here = [f for f in count.misplaced_in if not report.other_shelf(f)]
        if here:
            notes.append("belongs elsewhere " + _packs(here, "ledger"))
        if len(here) < len(count.misplaced_in):
            apart = [f for f in count.misplaced_in if report.other_shelf(f)]
            how = {"ended": " (look before confirming, which moves all such packs here)"}
            if tapped:
                how["confirmed"] = " (left there by the badge tap)"
            notes.append(
                "booked on another shelf, maybe read through from there"
                + how.get(state, "")
                + " "
                + _packs(apart, "ledger")
            )
        if count.misplaced_out:
            notes.append("found elsewhere " + _packs(count.misplaced_out, "seen"))
        if count.untagged:
            notes.append(f"{count.untagged} untagged pack(s) not counted")
        flag = "!" if count.slot in differing else ""
        lines.append(
            f"{count.slot:8} {count.expected:>8} {count.seen:>5}{flag:>2} " + "; ".join(notes)
        )
    if report.unplaced:
        lines.append(
            "found before any location tag was read, slot unknown (nothing booked for them): "
            + _packs(report.unplaced, "ledger")
        )
    if report.read_through:
        lines.append(
            "read through from other shelves, where their fixed readers still see them (not "
            "differences): " + _packs(report.read_through, "ledger")
        )
    if report.tags_found:
        lines.append(
            "booked by their code, found where booked (confirming gives them their tags): "
            + _packs(report.tags_found)
        )
    lines += ["", f"{'GTIN':14} {'batch':12} {'expected':>8} {'seen':>5} {'diff':>5}"]
    for row in report.by_product:
        lines.append(
            f"{row['gtin']:14} {row['batch'] or '-':12} {row['expected']:>8} {row['seen']:>5} "
            f"{row['difference']:>+5}"
        )
    return "\n".join(lines)


def epcis_export(report: StocktakeReport, now: datetime, site: str) -> dict[str, Any]:
    """The report's counts as an EPCIS 2.0 document: the same events the gateway sent on its
    `events` topic when the count ended."""
    return epcis_document(count_events(report, site), iso(now))
