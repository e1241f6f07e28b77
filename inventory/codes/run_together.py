"""Fields run together by a scanner that drops the GS (FNC1) separator.

A GS1 code ends every variable-length field (batch 10, serial 21, national number 710-714) with
FNC1 unless the field is the code's last; scanners send FNC1 as GS (0x1D). A scanner set to drop
it sends the fields run together, and GS1 reads a variable-length field on to the end of the
scan or to its 20 characters: `21ABCDEFGH1234` then `10BAD` reads as serial `ABCDEFGH123410BAD`
and no batch, and a pack of a recalled batch would be booked.

A variable-length field hides fields (`hidden_in`) when its value, from its second character on,
reads to its end as element strings a pack's code carries: fixed ones with a real date (17, 11,
15, 16 as YYMMDD, 7003 as YYMMDDHHMM), then at most one variable-length one (10, 21, 710-714)
running to the end, and one of them is a field the code lacks: a batch, a serial, or an expiry
(17 or 7003). A fixed field must be followed by the end or by another such field, as in a code:
the batch `X17260131Q` hides nothing.

The rule, made so that no code that is valid as read is refused for what it might hide:

- A scan with a GS is read as it says: a scanner that sends one GS sends them all.
- In a scan without GS, a variable-length field followed by another field ended only because it
  reached its 20 characters: a GS is missing for sure (GS1 wants one there even then). Such a
  scan is refused when one of its variable-length fields hides a field (`surely_dropped`).
- Otherwise the scan has one variable-length field, its last: no GS is to be expected at all,
  and the code is valid as read. It is read as it stands; what its last field hides (`RanOn`)
  is judged against what the pack's product carries (`inventory.codes.product_codes`). It is
  refused when the field hides a batch or an expiry that the code lacks and the product's codes
  carry both (`batch_and_expiry`, true unless configured otherwise), as every medicine pack's
  code does (EU FMD, US DSCSA); a code without the serial its product requires is refused
  anyway, and the message names the serial its batch may hold. A medical device's code with a
  serial and no batch (`21SN10023456`, `211234510678`) and a counted product's batch holding
  "21" (`L2105123456`) are read as they stand.

What the rule cannot tell apart: a batch that swallowed the serial, for a product that does not
require serials, reads as one batch (`B721K4T9Q2M7X1`); a serial that swallowed the batch, for a
product whose codes may lack a batch, reads as one serial. And a code without GS, without batch,
whose serial holds "10" and a character or more, is refused for a product whose codes carry a
batch even if the pack's code truly is so: such a medicine code is misprinted anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date

EXPIRY = ("17", "7003")
VARIABLE = ("10", "21", *(f"71{n}" for n in range(5)))
_NAMES = {"10": "batch", "21": "serial"} | {f"71{n}": "national number" for n in range(5)}
_SET_GS = (
    "the scanner is not sending the GS separator between fields: set it to transmit FNC1 as "
    "GS (0x1D) and scan again"
)
# Where the scanner already sends GS, the pack's code itself lacks it.
_OR_MISPRINTED = (
    "; if the scanner already sends GS (other packs' codes read fine), the pack's code is "
    "misprinted: do not accept the pack"
)
SET_GS_OR_MISPRINTED = _SET_GS + _OR_MISPRINTED


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


@dataclass(frozen=True, slots=True)
class RanOn:
    """A variable-length field of a scan without GS (AI `ai`, value `value`) and the fields it
    hides (`fields`, AI and value), at least one of them lacking from the code."""

    ai: str
    value: str
    fields: tuple[tuple[str, str], ...]

    def hides(self, *ais: str) -> bool:
        """Whether one of the hidden fields has one of `ais`."""
        return any(ai in ais for ai, _ in self.fields)

    def hidden(self, ai: str) -> str:
        """The value the field of `ai` would have ("" if none is hidden)."""
        return next((value for inner, value in self.fields if inner == ai), "")

    def __str__(self) -> str:
        found = "".join(f"({ai}){value}" for ai, value in self.fields)
        return f"the {field_name(self.ai)} {self.value!r} holds {found}"


def hidden_in(ai: str, value: str, present: Collection[str]) -> RanOn | None:
    """What the field (`ai`, `value`) of a scan without GS hides by the rule above, given the
    AIs `present` in the code; None if nothing."""
    for start in range(1, len(value) - 1):
        found = _read(value[start:])
        if found and any(_lacking(inner, present) for inner, _ in found):
            return RanOn(ai, value, tuple(found))
    return None


def surely_dropped(fields: Collection[str], last: str) -> bool:
    """Whether a scan without GS whose fields have the AIs `fields`, `last` the last one, holds
    a variable-length field that is not its last (one that ended at its 20 characters)."""
    return any(ai in VARIABLE and ai != last for ai in fields)


def run_together_refusal(ran_on: RanOn) -> str:
    """The words refusing a scan whose field `ran_on` took in the fields after it."""
    return f"{ran_on}: the fields ran together because {SET_GS_OR_MISPRINTED}"


def serial_hint(ran_on: RanOn | None, batch: str) -> str:
    """For a code without serial: the serial its last field (or its batch) may hold, and the
    scanner setting that would explain it; "" when neither holds "21" and a character more."""
    if ran_on is not None and ran_on.hides("21"):
        return f"; {ran_on}: if the pack shows serial {ran_on.hidden('21')!r}, {_SET_GS}"
    at = batch.find("21")
    serial = batch[at + 2 :] if at >= 0 else ""
    if not serial:
        return ""
    return f"; the batch {batch!r} contains 21: if the pack shows serial {serial!r}, {_SET_GS}"


def _lacking(ai: str, present: Collection[str]) -> bool:
    if ai in EXPIRY:
        return not any(expiry in present for expiry in EXPIRY)
    return ai in ("10", "21") and ai not in present


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
    for ai in VARIABLE:
        if text.startswith(ai) and len(text) > len(ai):
            return [(ai, text[len(ai) :])]
    return None
