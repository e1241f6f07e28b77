"""Fields run together by a scanner that drops the GS (FNC1) separator.

A GS1 code ends every variable-length field (batch 10, serial 21, national number 710-714) with
FNC1 unless the field is the code's last; scanners send FNC1 as GS (0x1D). A scanner set to drop
it sends the fields run together, and GS1 reads the first variable-length field on to the end of
the scan (or to its 20 characters): `21ABCDEFGH1234` then `10BAD` reads as serial
`ABCDEFGH123410BAD` and no batch, and the pack of a recalled batch would be booked.

The rule, chosen so that real codes are not refused:

- Only a scan with no GS at all is suspect: a scanner that sends one GS sends them all, so a
  code with a GS anywhere is read as it says (its last field really is its last).
- In a scan without GS, a variable-length field hides other fields when its value, from its
  second character or later, reads to its end as element strings a pack's code carries: fixed
  ones with a real date (17, 11, 15, 16 as YYMMDD, 7003 as YYMMDDHHMM), then at most one
  variable-length one (10, 21, 710-714) running to the end. A fixed field must be followed by
  the end or by another such field, as in a code: the batch `X17260131Q` hides nothing.
- What is read so must hold a field the code lacks, and one whose absence matters: a batch (10)
  or an expiry (17 or 7003), which every medicine pack's code carries, so a real code without
  them is all but unknown; or a serial (21) of at least `MIN_SERIAL` characters. Codes of
  counted products often carry no serial and their batches often hold "21" (a year: `L2103A`),
  while serials made for the fight against falsified medicines (EU FMD, US DSCSA) are random and
  longer than that.

So a serial holding "10" passes where the code has a batch, a batch holding "10" or "17" plus
a date passes where the code has its own, and a batch holding "21" with fewer than `MIN_SERIAL`
characters after it passes as a batch (for a serialized product the serial policy still refuses
that code, naming the setting). What the rule cannot tell apart: a real batch holding "21" and
`MIN_SERIAL` or more characters after it, in a code without serial, is refused; a dropped GS
between a batch and a serial shorter than `MIN_SERIAL` is read as one batch.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date

MIN_SERIAL = 8
_EXPIRY = ("17", "7003")
_NAMES = {"10": "batch", "21": "serial"} | {f"71{n}": "national number" for n in range(5)}
_VARIABLE = ("10", "21", *(f"71{n}" for n in range(5)))


def _valid_yymmdd(text: str) -> bool:
    """A GS1 date YYMMDD that exists (day 00: the month's last day)."""
    if len(text) != 6 or not text.isdigit():
        return False
    year, month, day = int(text[:2]), int(text[2:4]), int(text[4:])
    try:
        date(2000 + year, month, day or 1)
    except ValueError:
        return False
    return True


def _valid_date_time(text: str) -> bool:
    """A GS1 date and time YYMMDDHHMM that exists."""
    if len(text) != 10 or not text.isdigit():
        return False
    return _valid_yymmdd(text[:6]) and int(text[6:8]) < 24 and int(text[8:]) < 60


_FIXED: dict[str, tuple[int, Callable[[str], bool]]] = {
    "17": (6, _valid_yymmdd),
    "11": (6, _valid_yymmdd),
    "15": (6, _valid_yymmdd),
    "16": (6, _valid_yymmdd),
    "7003": (10, _valid_date_time),
}


def field_name(ai: str) -> str:
    """What a pharmacist calls the field of `ai`."""
    return _NAMES.get(ai, f"AI ({ai}) field")


def hidden_in(value: str, present: Collection[str]) -> list[tuple[str, str]]:
    """The fields (AI, value) that `value`, a variable-length field of a scan without GS,
    hides by the rule above, given the AIs `present` in the code; empty if none."""
    for start in range(1, len(value) - 1):
        found = _read(value[start:])
        if found and any(_matters(ai, text, present) for ai, text in found):
            return found
    return []


def _matters(ai: str, value: str, present: Collection[str]) -> bool:
    if ai in _EXPIRY:
        return not any(expiry in present for expiry in _EXPIRY)
    if ai == "21":
        return ai not in present and len(value) >= MIN_SERIAL
    return ai == "10" and ai not in present


def _read(text: str) -> list[tuple[str, str]] | None:
    """`text` read to its end as element strings with no GS between them, or None."""
    if not text:
        return []
    for ai, (length, valid) in _FIXED.items():
        value = text[len(ai) : len(ai) + length]
        if text.startswith(ai) and len(value) == length and valid(value):
            rest = _read(text[len(ai) + length :])
            if rest is not None:
                return [(ai, value), *rest]
    for ai in _VARIABLE:
        if text.startswith(ai) and len(text) > len(ai):
            return [(ai, text[len(ai) :])]
    return None
