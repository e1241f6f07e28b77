"""The EPCIS event hash ID of CBV 2.0 (section 8.9): a deterministic `eventID` for an event,
the same whoever computes it from the event's content.

The event's fields are written in the canonical property order as a pre-hash string (key=value,
no separators; lists sorted; times in UTC with milliseconds; CBV words and EPC URIs expanded to
their web URIs and canonical GS1 Digital Link URIs; user extensions last, as {namespace}name=
value, sorted), hashed with SHA-256 and written as `ni:///sha-256;{hex}?ver=CBV2.0`.

This implements what rxedge's events hold (object and aggregation events with EPC and quantity
lists, read point, business location, business transactions, sources, destinations and flat
user extensions); any other field is refused rather than hashed wrong.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from inventory.codes.gtin import gtin_check_digit

_EPC_LISTS = ("epcList", "parentID", "childEPCs")
_QUANTITY_LISTS = ("quantityList", "childQuantityList")
_TYPED_LISTS = {
    "bizTransactionList": ("bizTransaction", "BTT"),
    "sourceList": ("source", "SDT"),
    "destinationList": ("destination", "SDT"),
}
_VOCABULARY = {"bizStep": "BizStep", "disposition": "Disp"}
_CBV_URNS = {
    "urn:epcglobal:cbv:bizstep:": "https://ref.gs1.org/cbv/BizStep-",
    "urn:epcglobal:cbv:disp:": "https://ref.gs1.org/cbv/Disp-",
    "urn:epcglobal:cbv:btt:": "https://ref.gs1.org/cbv/BTT-",
    "urn:epcglobal:cbv:sdt:": "https://ref.gs1.org/cbv/SDT-",
}
_KNOWN = {
    "@context",
    "type",
    "eventID",
    "recordTime",
    "eventTime",
    "eventTimeZoneOffset",
    "epcList",
    "parentID",
    "childEPCs",
    "quantityList",
    "childQuantityList",
    "action",
    "bizStep",
    "disposition",
    "readPoint",
    "bizLocation",
    *_TYPED_LISTS,
}
# Characters GS1 Digital Link percent-encodes that an EPC URI may hold as they are.
_DL_ESCAPES = {c: f"%{ord(c):02X}" for c in "!()*+,:"}


def event_hash(event: Mapping[str, Any], prefixes: Mapping[str, str]) -> str:
    """The CBV 2.0 event hash ID of `event` (JSON-LD form); `prefixes` maps the compact
    prefixes of user extension fields to their namespaces."""
    pre = pre_hash(event, prefixes)
    return f"ni:///sha-256;{hashlib.sha256(pre.encode()).hexdigest()}?ver=CBV2.0"


def pre_hash(event: Mapping[str, Any], prefixes: Mapping[str, str]) -> str:
    """The canonical pre-hash string of `event`."""
    extensions = [key for key in event if key not in _KNOWN]
    for key in extensions:
        if ":" not in key or key.split(":", 1)[0] not in prefixes:
            raise ValueError(f"cannot hash field {key!r}: not a field rxedge's hash handles")
        if isinstance(event[key], Mapping | list):
            raise ValueError(f"cannot hash nested extension {key!r}")
    parts = [f"eventType={event['type']}"]
    parts += [f"eventTime={_utc(event['eventTime'])}"]
    parts += [f"eventTimeZoneOffset={event['eventTimeZoneOffset']}"]
    for name in _EPC_LISTS:
        parts.append(_epcs(name, event.get(name)))
    for name in _QUANTITY_LISTS:
        parts.append(_quantities(name, event.get(name)))
    parts.append(f"action={event['action']}")
    for name, kind in _VOCABULARY.items():
        if name in event:
            parts.append(f"{name}={_vocabulary(event[name], kind)}")
    for name in ("readPoint", "bizLocation"):
        if name in event:
            parts.append(f"{name}id={_canonical(event[name]['id'])}")
    for name, (field, kind) in _TYPED_LISTS.items():
        entries = sorted(
            f"{field}={_canonical(entry[field])}"
            + (f"type={_vocabulary(entry['type'], kind)}" if "type" in entry else "")
            for entry in event.get(name, [])
        )
        parts.append(name + "".join(entries) if entries else "")
    user = sorted(
        "{" + prefixes[key.split(":", 1)[0]] + "}" + key.split(":", 1)[1] + f"={_value(value)}"
        for key, value in event.items()
        if key in extensions
    )
    return "".join(parts + user)


def _epcs(name: str, value: str | list[str] | None) -> str:
    if not value:
        return ""
    if isinstance(value, str):  # parentID: one EPC
        return f"{name}={_canonical(value)}"
    return name + "".join(sorted(f"epc={_canonical(epc)}" for epc in value))


def _quantities(name: str, value: list[dict[str, Any]] | None) -> str:
    if not value:
        return ""
    elements = sorted(
        "quantityElement"
        + f"epcClass={_canonical(element['epcClass'])}"
        + (f"quantity={_value(element['quantity'])}" if "quantity" in element else "")
        + (f"uom={element['uom']}" if "uom" in element else "")
        for element in value
    )
    return name + "".join(elements)


def _utc(text: str) -> str:
    """A timestamp in UTC with milliseconds and Z."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    moment += timedelta(microseconds=round(moment.microsecond, -3) - moment.microsecond)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _value(value: object) -> str:
    """A value as the pre-hash writes it: numbers without trailing zeros."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        number = Decimal(str(value)).normalize()
        return f"{number:f}"
    return str(value).strip()


def _vocabulary(value: str, kind: str) -> str:
    """A CBV word (bare, or as an old URN) as its web URI; anything else as it is."""
    for urn, web in _CBV_URNS.items():
        if value.startswith(urn):
            return web + value[len(urn) :]
    if ":" in value:
        return value
    return f"https://ref.gs1.org/cbv/{kind}-{value}"


def _canonical(uri: str) -> str:
    """An EPC URI as its canonical GS1 Digital Link URI; any other URI as it is."""
    uri = uri.strip()
    for scheme, convert in _DIGITAL_LINK.items():
        if uri.startswith(scheme):
            return convert(uri[len(scheme) :].split("."))
    return uri


def _dl(text: str) -> str:
    return "".join(_DL_ESCAPES.get(c, c) for c in text)


def _key(indicator: str, prefix: str, reference: str) -> str:
    body = indicator + prefix + reference
    return body + str(gtin_check_digit(body))


def _sgtin(parts: list[str]) -> str:
    prefix, item, serial = parts[0], parts[1], ".".join(parts[2:])
    return f"https://id.gs1.org/01/{_key(item[0], prefix, item[1:])}/21/{_dl(serial)}"


def _lgtin(parts: list[str]) -> str:
    prefix, item, lot = parts[0], parts[1], ".".join(parts[2:])
    return f"https://id.gs1.org/01/{_key(item[0], prefix, item[1:])}/10/{_dl(lot)}"


def _gtin_class(parts: list[str]) -> str:
    """urn:epc:idpat:sgtin:{prefix}.{item}.* (every pack of a GTIN, no batch known)."""
    prefix, item = parts[0], parts[1]
    return f"https://id.gs1.org/01/{_key(item[0], prefix, item[1:])}"


def _sgln(parts: list[str]) -> str:
    prefix, location, extension = parts[0], parts[1], ".".join(parts[2:])
    gln = _key("", prefix, location)
    return f"https://id.gs1.org/414/{gln}" + ("" if extension == "0" else f"/254/{_dl(extension)}")


_DIGITAL_LINK = {
    "urn:epc:id:sgtin:": _sgtin,
    "urn:epc:class:lgtin:": _lgtin,
    "urn:epc:idpat:sgtin:": _gtin_class,
    "urn:epc:id:sgln:": _sgln,
}
