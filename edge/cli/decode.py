"""`rxedge tag decode` and `rxedge barcode decode`: what a field technician asks of a tag or a
code, answered without a running daemon."""

from __future__ import annotations

import json
from typing import Any

from inventory.codes.barcodes import BarcodeError, from_typed, read_code, readable
from inventory.codes.identifiers import EpcDecoder, LocationId, PackId


def decode_tag(hex_epc: str) -> dict[str, Any]:
    """What an EPC (hexadecimal) is; "error" says why it is not a tag rxedge tracks."""
    cleaned = hex_epc.replace(" ", "").replace(":", "")
    try:
        epc = bytes.fromhex(cleaned)
    except ValueError:
        return {"hex": hex_epc, "error": "not hexadecimal: give the EPC memory as hex digits"}
    decoder = EpcDecoder()
    identity = decoder.decode(epc)
    if isinstance(identity, PackId):
        return {
            "hex": cleaned.upper(),
            "kind": "pack",
            "scheme": _scheme(epc),
            "uri": identity.epc,
            "gtin": identity.gtin,
            "serial": identity.serial,
        }
    if isinstance(identity, LocationId):
        return {
            "hex": cleaned.upper(),
            "kind": "location",
            "scheme": "sgln-96",
            "uri": identity.epc,
            "gln": identity.gln,
            "extension": identity.extension,
        }
    (kind,) = decoder.ignored
    return {
        "hex": cleaned.upper(),
        "kind": kind,
        "error": f"not a GS1 pack or location tag ({kind}); rxedge ignores it",
    }


def _scheme(epc: bytes) -> str:
    return "sgtin-198" if epc[:1] == b"\x36" else "sgtin-96"


def decode_barcode(text: str) -> dict[str, Any]:
    """What a scanned element string says; "error" explains a refusal."""
    typed = from_typed(text)
    try:
        return {"input": readable(typed), **read_code(typed).as_dict()}
    except BarcodeError as exc:
        return {"input": readable(typed), "error": str(exc)}


def print_results(results: list[dict[str, Any]], as_json: bool) -> int:
    """Print one result per line; exit status 1 if any input was refused."""
    for result in results:
        if as_json:
            print(json.dumps(result))
        elif "error" in result:
            print(f"{result.get('hex') or result.get('input')}: INVALID: {result['error']}")
        else:
            print("  ".join(f"{k}={v}" for k, v in result.items()))
    return 1 if any("error" in r for r in results) else 0
