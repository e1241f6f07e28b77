"""GS1 element strings from pack barcodes (GS1 DataMatrix on medicine packs), through biip.

What a pack's code carries: AI 01 GTIN, 17 expiry (YYMMDD, day 00 = end of month), 10 batch,
21 serial. A code is read as GS1 says: what GS1 makes invalid (a wrong check digit, a date that
does not exist, a field longer than GS1 allows, as when a scanner drops the GS between two
variable-length fields) is refused, with a message telling the pharmacist whether the scanner
or the pack is at fault. A valid code is never refused on a guess about the scanner: whether a
pack must carry a serial is its product's policy (`check_serial`), and the guess only adds a
hint to that refusal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import biip

from inventory.errors import Refused

GS = "\x1d"
_GS1_SYMBOLOGIES = ("]d2", "]C1", "]e0", "]Q3", "]J1")
_NON_GS1 = re.compile(r"^\][A-Za-z]\d")
# An expiry element (17YYMMDD) hidden inside a variable-length field.
_HIDDEN_EXPIRY = re.compile(r"17(\d{2})(0[1-9]|1[0-2])(\d{2})")


class BarcodeError(Refused, ValueError):
    """The scan cannot be used; the message says what is wrong and what to do."""


@dataclass(frozen=True, slots=True)
class PackScan:
    """What a pack's barcode says."""

    gtin: str
    expiry: date | None
    batch: str
    serial: str

    def notes(self) -> list[str]:
        """What a person should know about a valid code: what it lacks, and the scanner
        setting that would explain it."""
        notes = []
        if not self.serial:
            notes.append("the code has no serial number (AI 21)" + _serial_hint(self.batch))
        if self.expiry is None:
            notes.append("the code has no expiry date (AI 17)" + _expiry_hint(self.batch))
        return notes

    def as_dict(self) -> dict[str, str | None]:
        found: dict[str, str | None] = {
            "gtin": self.gtin,
            "expiry": self.expiry.isoformat() if self.expiry else None,
            "batch": self.batch,
            "serial": self.serial,
        }
        if notes := self.notes():
            found["note"] = "; ".join(notes)
        return found


def parse_pack_barcode(text: str) -> PackScan:
    """Read a scanned GS1 element string; BarcodeError explains any reason to refuse it."""
    text = text.strip("\r\n")
    if not text:
        raise BarcodeError("empty scan: nothing was read")
    if _NON_GS1.match(text) and not text.startswith(_GS1_SYMBOLOGIES):
        raise BarcodeError(
            f"the code is not GS1 (symbology {text[:3]}): scan the pack's GS1 DataMatrix, "
            "not another code on it"
        )
    try:
        result = biip.parse(text)
    except (biip.ParseError, IndexError, ValueError) as exc:
        # biip refuses some malformed symbology identifiers (e.g. "]0") by raising.
        raise BarcodeError(
            f"the scan is not a readable code ({exc}); check the scanner's "
            "settings and scan the pack's GS1 DataMatrix again"
        ) from None
    message = result.gs1_message
    error = result.gs1_message_error or ""
    if message is None and "(17)" in error:
        raise BarcodeError(
            f"the expiry date in the code is not a real date ({error}): the "
            "pack's code is misprinted or damaged: do not accept the pack"
        )
    if message is None and GS not in text and len(text) > 20:
        raise BarcodeError(
            f"the code is not valid GS1 ({error}); a batch or serial may have run into the "
            "next field because the scanner is not sending the GS separator between fields: "
            "set it to transmit FNC1 as GS (0x1D) and scan again; if it still fails, the "
            "pack's code is damaged"
        )
    if message is None:
        raise BarcodeError(
            f"the code could not be read as GS1 data ({error}); "
            "check the pack's code, or the scanner's GS1 settings"
        )
    fields: dict[str, str] = {}
    expiry: date | None = None
    for element in message.element_strings:
        ai = element.ai.ai
        if fields.get(ai, element.value) != element.value:
            raise BarcodeError(
                f"the code carries AI ({ai}) twice with different values "
                f"({fields[ai]!r}, {element.value!r}), which GS1 does not allow: the pack's "
                "code is misprinted: do not accept the pack"
            )
        fields[ai] = element.value
        if ai == "01" and element.gtin_error:
            raise BarcodeError(
                f"GTIN {element.value}: {element.gtin_error} The pack's code is "
                "misprinted or damaged: do not accept the pack"
            )
        if ai == "17":
            expiry = element.date
    if "01" not in fields:
        raise BarcodeError("the code has no GTIN (AI 01): it is not a medicine pack's code")
    return PackScan(fields["01"], expiry, fields.get("10", ""), fields.get("21", ""))


def check_serial(scan: PackScan, require_serial: bool) -> None:
    """Refuse a pack without a serial when its product requires serialized packs."""
    if scan.serial or not require_serial:
        return
    hints = _serial_hint(scan.batch) + ("" if scan.expiry else _expiry_hint(scan.batch))
    raise BarcodeError(
        f"GTIN {scan.gtin} is a serialized product and this code has no serial number "
        f"(AI 21): do not accept the pack unless its code truly has none{hints}"
    )


def _serial_hint(batch: str) -> str:
    """Where the batch holds "21", the serial may be in it: the scanner dropped the GS."""
    at = batch.find("21")
    if at < 0 or not batch[at + 2 :]:
        return ""
    return (
        f"; the batch {batch!r} contains 21: if the pack shows serial {batch[at + 2 :]!r}, the "
        "scanner is not sending the GS separator between fields; set it to transmit FNC1 as "
        "GS (0x1D) and scan again"
    )


def _expiry_hint(batch: str) -> str:
    """Where the batch holds what reads as 17YYMMDD, the expiry may be in it."""
    for hidden in _HIDDEN_EXPIRY.finditer(batch):
        if _valid_yymmdd(hidden.group(0)[2:]):
            return (
                f"; the batch {batch!r} contains (17){hidden.group(0)[2:]}: if that is the "
                "pack's expiry, the scanner is not sending the GS separator between fields; "
                "set it to transmit FNC1 as GS (0x1D) and scan again"
            )
    return ""


def _valid_yymmdd(text: str) -> bool:
    year, month, day = int(text[:2]), int(text[2:4]), int(text[4:])
    if day == 0:
        return 1 <= month <= 12
    try:
        date(2000 + year, month, day)
    except ValueError:
        return False
    return True


def readable(text: str) -> str:
    """The scan with GS shown as <GS>, for messages and logs."""
    return text.replace(GS, "<GS>")


def from_typed(text: str) -> str:
    """A code typed by a person: <GS>, \\x1d or | stand for the GS separator."""
    return text.replace("<GS>", GS).replace("\\x1d", GS).replace("|", GS)
