"""EPCIS 2.0 events (JSON-LD) for what the gateway observed: a stocktake's counts per slot."""

from __future__ import annotations

import uuid
from typing import Any

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"
# rxedge's own fields (the stocktake id) under a prefix of their own, as EPCIS 2.0 allows.
CONTEXT: list[Any] = [EPCIS_CONTEXT, {"rxedge": "urn:rxedge:epcis:"}]


def slot_uri(slot: str, location_uris: dict[str, str], site: str) -> str:
    """The slot's identity: its location tag's SGLN URI when it was read, else a site-local URN."""
    return location_uris.get(slot) or f"urn:rxedge:slot:{site}:{slot}"


def cycle_count_event(
    event_time: str, epcs: list[str], location: str, stocktake_id: str
) -> dict[str, Any]:
    """An ObjectEvent (action OBSERVE, bizStep cycle_counting): these packs were seen here."""
    return {
        "@context": CONTEXT,
        "type": "ObjectEvent",
        "eventID": f"urn:uuid:{uuid.uuid4()}",
        "eventTime": event_time,
        "eventTimeZoneOffset": "+00:00",
        "epcList": sorted(epcs),
        "action": "OBSERVE",
        "bizStep": "cycle_counting",
        "readPoint": {"id": location},
        "bizLocation": {"id": location},
        "rxedge:stocktake": stocktake_id,
    }


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
