"""GTINs: the GS1 check digit, and a GTIN as typed (8, 12, 13 or 14 digits) made the GTIN-14
that the ledger and the MQTT contract keep. Apart from the tags' identities (`identifiers`):
checking a GTIN needs none of their EPC and GS1 libraries, slow to load."""

from __future__ import annotations

import re


def gtin_check_digit(first13: str) -> int:
    """GS1 mod-10 check digit over the first 13 digits of a GTIN-14 (or any GS1 key's
    digits before its check digit: the rightmost weighs 3)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(first13)))
    return (10 - total % 10) % 10


def gtin_problem(value: str) -> str | None:
    """What is wrong with a GTIN-14, or None."""
    if len(value) != 14 or not value.isdigit():
        return f"GTIN {value!r} must be exactly 14 digits (pad a GTIN-13 with a leading 0)"
    if gtin_check_digit(value[:13]) != int(value[13]):
        return f"GTIN {value} has a wrong check digit (expected {gtin_check_digit(value[:13])})"
    return None


GTIN_LENGTHS = (8, 12, 13, 14)  # GTIN-8, GTIN-12 (UPC-A), GTIN-13 (EAN-13), GTIN-14


def normalize_gtin(value: str) -> str:
    """A GTIN as typed (8, 12, 13 or 14 digits) as the GTIN-14 the ledger keeps: leading zeros
    added, the check digit verified. ValueError says what is wrong in words."""
    digits = value.strip()
    if not re.fullmatch(r"[0-9]+", digits) or len(digits) not in GTIN_LENGTHS:
        raise ValueError(
            f"GTIN {value!r} must be 8, 12, 13 or 14 digits (GTIN-8, UPC-A, EAN-13 or GTIN-14)"
        )
    padded = digits.zfill(14)
    expected = gtin_check_digit(padded[:13])
    if expected != int(padded[13]):
        raise ValueError(
            f"GTIN {digits} has a wrong check digit: its last digit should be {expected} "
            "(a digit mistyped or left out?)"
        )
    return padded
