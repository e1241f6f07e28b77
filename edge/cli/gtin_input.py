"""GTINs and packs as people type them on the command line. A GTIN: 8, 12, 13 or 14 digits,
each taken as the GTIN-14 the ledger and the MQTT contract use (leading zeros added, the check
digit verified). A pack: its EPC URI, or its EPC memory in hex (what a reader, `rxedge tag
decode` and `rxedge sim ctl` show), each taken as the URI the ledger keeps."""

from __future__ import annotations

import argparse
import re

from inventory.codes.gtin import normalize_gtin

# EPC memory: 96 bits or more in hex (bytes may be parted by spaces or colons); no GTIN or slot
# name is that long and all hex digits.
EPC_MEMORY = re.compile(r"[0-9A-Fa-f]{24,}")


def gtin_argument(value: str) -> str:
    """An argparse type: the GTIN-14 of `value`, or a usage error saying what is wrong."""
    try:
        return normalize_gtin(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def epc_argument(value: str) -> str:
    """An argparse type: the EPC URI of the pack `value` names (its URI or its EPC memory in
    hex), or a usage error saying what is wrong."""
    # The EPC libraries load here, for a pack typed: not for every command's parser.
    from inventory.codes.identifiers import pack_named

    try:
        return pack_named(value).epc
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def gtin_or_other(value: str) -> str:
    """An argparse type for `history`'s key: a pack when it is an EPC (URI or hex), a GTIN
    when it is all digits, else a slot name."""
    typed = value.strip()
    if typed.lower().startswith("urn:") or EPC_MEMORY.fullmatch(re.sub("[ :]", "", typed)):
        return epc_argument(value)
    return gtin_argument(value) if typed.isdecimal() else value
