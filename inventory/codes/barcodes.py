"""GS1 element strings from pack barcodes (GS1 DataMatrix on medicine packs), through biip.

What a pack's code carries: AI 01 GTIN, 17 expiry (YYMMDD, day 00 = end of month), 10 batch,
21 serial. Anything that would store a wrong pack is refused with a message that tells the
pharmacist whether the scanner or the pack is at fault.
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

    def as_dict(self) -> dict[str, str | None]:
        return {
            "gtin": self.gtin,
            "expiry": self.expiry.isoformat() if self.expiry else None,
            "batch": self.batch,
            "serial": self.serial,
        }


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
    if message is None:
        raise BarcodeError(
            f"the code could not be read as GS1 data ({result.gs1_message_error}); "
            "check the pack's code, or the scanner's GS1 settings"
        )
    fields: dict[str, str] = {}
    expiry: date | None = None
    for element in message.element_strings:
        ai = element.ai.ai
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
    _refuse_swallowed_fields(fields)
    return PackScan(fields["01"], expiry, fields.get("10", ""), fields.get("21", ""))


def _refuse_swallowed_fields(fields: dict[str, str]) -> None:
    """A variable-length field (batch, serial) runs to the next GS. A scanner that drops the GS
    makes it swallow the fields after it; that shows as an expiry date inside it."""
    batch = fields.get("10", "")
    if "21" not in fields and "01" in fields and (at := batch.find("21")) >= 0 and batch[at + 2 :]:
        raise BarcodeError(
            f"the batch '{batch}' may hold the serial number (21){batch[at + 2 :]}: the scanner "
            "is not sending the GS separator between fields; set it to transmit FNC1 as GS "
            "(0x1D) and scan again"
        )
    if "17" in fields:
        return
    for ai, name in (("10", "batch"), ("21", "serial")):
        value = fields.get(ai, "")
        for hidden in _HIDDEN_EXPIRY.finditer(value):
            if _valid_yymmdd(hidden.group(0)[2:]):
                raise BarcodeError(
                    f"the {name} '{value}' contains what looks like an expiry date "
                    f"(17){hidden.group(0)[2:]}: the scanner is not sending the GS separator "
                    "between fields; set it to transmit FNC1 as GS (0x1D) and scan again"
                )


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
