"""GTINs as people type them on the command line: 8, 12, 13 or 14 digits, each taken as the
GTIN-14 the ledger and the MQTT contract use (leading zeros added, the check digit verified)."""

from __future__ import annotations

import argparse

from inventory.codes.identifiers import normalize_gtin


def gtin_argument(value: str) -> str:
    """An argparse type: the GTIN-14 of `value`, or a usage error saying what is wrong."""
    try:
        return normalize_gtin(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def gtin_or_other(value: str) -> str:
    """An argparse type for an argument that is a GTIN when it is all digits (`history`'s key:
    a GTIN, an EPC URI or a slot)."""
    return gtin_argument(value) if value.strip().isdecimal() else value
