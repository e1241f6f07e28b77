"""EPCIS 2.0 events (JSON-LD) for what a stocktake counted, one ObjectEvent per slot.

The events are a function of the stored report alone, so the MQTT `events` stream and a later
`rxedge stocktake report --epcis` give the same events: the count's time and the site's UTC
offset then, the slot's SGLN (its shelf's GLN, the slot's number as extension) as read point
and business location, the tagged packs seen there in `epcList`, and as `eventID` the CBV 2.0
event hash. An OBSERVE event says what was observed: a slot where no tagged pack was seen gives
no event, and untagged packs, which no sweep counts (the ledger's figure for them stays in the
report), are in none.
"""

from __future__ import annotations

from typing import Any

from inventory.stocktake.event_hash import event_hash
from inventory.stocktake.report import StocktakeReport

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"
# rxedge's own field (the stocktake id) under a namespace of its own, as EPCIS 2.0 allows.
RXEDGE_NAMESPACE = "urn:rxedge:epcis:"
CONTEXT: list[Any] = [EPCIS_CONTEXT, {"rxedge": RXEDGE_NAMESPACE}]


def slot_uri(slot: str, location_uris: dict[str, str], site: str) -> str:
    """The slot's identity: its SGLN URI, else (a shelf without a GLN, in a report kept from
    before GLNs were required) a site-local URN."""
    return location_uris.get(slot) or f"urn:rxedge:slot:{site}:{slot}"


def count_events(report: StocktakeReport, site: str) -> list[dict[str, Any]]:
    """The report's counts as ObjectEvents (action OBSERVE, bizStep cycle_counting), one per
    slot where a tagged pack was seen."""
    events = []
    for count in report.slots:
        epcs = sorted(report.seen_by_slot.get(count.slot, []))
        if not epcs:
            continue
        location = slot_uri(count.slot, report.location_uris, site)
        event: dict[str, Any] = {
            "type": "ObjectEvent",
            "eventTime": report.counted_at,
            "eventTimeZoneOffset": report.time_zone_offset,
            "action": "OBSERVE",
            "bizStep": "cycle_counting",
            "readPoint": {"id": location},
            "bizLocation": {"id": location},
            "rxedge:stocktake": report.stocktake_id,
            "epcList": epcs,
        }
        event["eventID"] = event_hash(event, {"rxedge": RXEDGE_NAMESPACE})
        events.append({"@context": CONTEXT, **event})
    return events


def epcis_document(events: list[dict[str, Any]], created: str) -> dict[str, Any]:
    """An EPCISDocument holding `events` (for a file export)."""
    bare = [{k: v for k, v in event.items() if k != "@context"} for event in events]
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": created,
        "epcisBody": {"eventList": bare},
    }
