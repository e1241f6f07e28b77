"""GS1 codes from pack barcodes (GS1 DataMatrix on medicine packs), through biip.

What a pack's code carries: AI 01 GTIN, 17 expiry (YYMMDD, day 00 = end of month), 10 batch,
21 serial. A code without 17 that carries 7003 (expiry date and time) expires on 7003's date:
the site calendar judges expiry by the day, so the time is not kept. Three forms are read: the
element string a GS1 scanner sends (symbology identifier, GS between fields), the human-readable
form "(01)...(17)...(10)..." that some scanners are set to send, and a GS1 Digital Link URI
("https://id.gs1.org/01/.../10/...?17=...", as a QR code carries it; `digital_link` says which
web addresses are one). Any other code (a leaflet's QR code, an EAN-13) is not GS1 data.

A code is read as GS1 says: what GS1 makes invalid (a wrong check digit, a date that does not
exist, a field longer than GS1 allows) is refused, with a message telling the pharmacist whether
the scanner or the pack is at fault. So is a scan whose fields surely ran together because the
scanner drops the GS separator; where a code valid as read may hide fields in its last one,
`Reading.ran_on` says what, for `product_codes` to judge against what the pack's product
carries (`run_together` gives the rule, made so that real codes pass).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import NoReturn

import biip
from biip.gs1_element_strings import GS1ElementString
from biip.gs1_messages import GS1Message

from inventory.codes.digital_link import DigitalLink, is_web_address
from inventory.codes.run_together import (
    EXPIRY,
    SET_GS_OR_MISPRINTED,
    VARIABLE,
    RanOn,
    hidden_in,
    run_together_refusal,
    serial_hint,
    surely_dropped,
)
from inventory.errors import Refused

GS = "\x1d"
_GS1_SYMBOLOGIES = ("]d2", "]C1", "]e0", "]Q3", "]J1")
_SYMBOLOGY = re.compile(r"^\][A-Za-z]\d")
# biip's words for an expiry of the right digits that is not a date: "Failed to match
# '17261331' with GS1 AI (17) pattern ..." or "Failed to parse GS1 AI (17) date/time from ...".
_BAD_EXPIRY = re.compile(
    r"Failed to match '(?:17\d{6}|7003\d{10})' with GS1 AI \((?:17|7003)\) pattern"
    r"|Failed to parse GS1 AI \((?:17|7003)\) date/time"
)
# One field of the human-readable form, as biip reads it: "(10)ABC123".
_HRI_FIELD = re.compile(r"\((\d+)\)([^(]+)")
_SCAN_THE_DATAMATRIX = "scan the pack's GS1 DataMatrix, not another code on it"


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
            notes.append("the code has no serial number (AI 21)" + serial_hint(None, self.batch))
        if self.expiry is None:
            notes.append("the code has no expiry date (AI 17)")
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


@dataclass(frozen=True, slots=True)
class Reading:
    """A code read: the pack it names (`scan`), whether it came as a Digital Link, and, for a
    scan without GS whose one variable-length field is its last, what that field may hide."""

    scan: PackScan
    digital_link: bool = False
    ran_on: RanOn | None = None

    def hides_batch_or_expiry(self) -> bool:
        """Whether the code's last field hides the batch or the expiry the code lacks."""
        if self.ran_on is None:
            return False
        return (self.ran_on.hides("10") and not self.scan.batch) or (
            self.ran_on.hides(*EXPIRY) and self.scan.expiry is None
        )

    def as_dict(self) -> dict[str, str | None]:
        """The pack as `PackScan.as_dict` gives it, with a note where the last field hides the
        batch or the expiry the code lacks (a scanner refuses it for a medicine)."""
        found = self.scan.as_dict()
        if self.hides_batch_or_expiry():
            hidden = (
                f"{self.ran_on}: if the fields ran together, a scanner refuses the code for a "
                "product whose codes carry a batch and an expiry"
            )
            found["note"] = "; ".join(filter(None, (found.get("note"), hidden)))
        return found


def parse_pack_barcode(text: str) -> PackScan:
    """Read a scanned GS1 code as it stands; BarcodeError explains any reason to refuse it."""
    return read_code(text).scan


def read_code(text: str) -> Reading:
    """Read a scanned GS1 code (`parse_pack_barcode`), with how it came."""
    text = text.strip("\r\n")
    if not text:
        raise BarcodeError("empty scan: nothing was read")
    body = text[3:] if _SYMBOLOGY.match(text) else text
    if is_web_address(body):
        return Reading(_pack(_from_digital_link(body)), digital_link=True)
    if body.startswith("("):
        return Reading(_pack(_from_human_readable(body)))
    if _SYMBOLOGY.match(text) and not text.startswith(_GS1_SYMBOLOGIES):
        raise BarcodeError(f"the code is not GS1 (symbology {text[:3]}): {_SCAN_THE_DATAMATRIX}")
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
    if message is None and not _BAD_EXPIRY.search(error) and GS not in text and len(text) > 20:
        raise BarcodeError(
            f"the code is not valid GS1 ({error}); a batch or serial may have run into the "
            f"next field because {SET_GS_OR_MISPRINTED}"
        )
    if message is None:
        _refuse_unreadable(error)
    elements = message.element_strings
    fields = _fields(elements)
    ran_on = None if GS in text else _ran_on(elements, fields)
    return Reading(_pack(fields), ran_on=ran_on)


def _from_digital_link(address: str) -> dict[str, GS1ElementString]:
    link = DigitalLink.of(address)
    if link is None:
        raise BarcodeError(
            "the code is not GS1 (a web address, not a GS1 Digital Link naming a GTIN with its "
            "right check digit after /01/; compressed Digital Links are not read): "
            + _SCAN_THE_DATAMATRIX
        )
    if (repeated := link.repeated()) is not None:
        ai, values = repeated
        raise _twice(ai, values[0], next(v for v in values if v != values[0]))
    return _read_fields(link.element_strings)


def _from_human_readable(text: str) -> dict[str, GS1ElementString]:
    left = _HRI_FIELD.sub("", "".join(text.split()))
    if left:
        # biip would skip it: "(10)AB(C)123" would be batch AB.
        raise BarcodeError(
            f"the human-readable code does not read whole as (AI) fields: {left!r} is left "
            f"over (a batch or serial holding '(' cannot be read in this form): "
            f"{_SCAN_THE_DATAMATRIX}, with the scanner set to send GS1 data"
        )
    return _read_fields(lambda: GS1Message.parse_hri(text).element_strings)


def _read_fields(
    read: Callable[[], Sequence[GS1ElementString]],
) -> dict[str, GS1ElementString]:
    """The fields of a human-readable code or a Digital Link, as `read` finds them."""
    try:
        elements = read()
    except (biip.ParseError, IndexError, ValueError) as exc:
        _refuse_unreadable(str(exc))
    return _fields(elements)


def _refuse_unreadable(error: str) -> NoReturn:
    if _BAD_EXPIRY.search(error):
        raise BarcodeError(
            f"the expiry date in the code is not a real date ({error}): the "
            "pack's code is misprinted or damaged: do not accept the pack"
        )
    raise BarcodeError(
        f"the code could not be read as GS1 data ({error}); "
        "check the pack's code, or the scanner's GS1 settings"
    )


def _fields(elements: Sequence[GS1ElementString]) -> dict[str, GS1ElementString]:
    """The code's fields by AI; an AI twice with different values is refused."""
    fields: dict[str, GS1ElementString] = {}
    for element in elements:
        ai = element.ai.ai
        if ai in fields and fields[ai].value != element.value:
            raise _twice(ai, fields[ai].value, element.value)
        fields[ai] = element
    return fields


def _twice(ai: str, first: str, second: str) -> BarcodeError:
    return BarcodeError(
        f"the code carries AI ({ai}) twice with different values ({first!r}, {second!r}), "
        "which GS1 does not allow: the pack's code is misprinted: do not accept the pack"
    )


def _ran_on(
    elements: Sequence[GS1ElementString], fields: dict[str, GS1ElementString]
) -> RanOn | None:
    """For a scan without GS: refused where a GS was surely dropped and a field hides others;
    otherwise what its last field, if variable-length, hides (run_together's rule)."""
    if not elements:
        return None
    last = elements[-1]
    if surely_dropped(fields, last.ai.ai):
        for element in elements:
            if element.ai.ai in VARIABLE and (
                ran_on := hidden_in(element.ai.ai, element.value, fields)
            ):
                raise BarcodeError(run_together_refusal(ran_on))
        return None
    return hidden_in(last.ai.ai, last.value, fields) if last.ai.ai in VARIABLE else None


def _pack(fields: dict[str, GS1ElementString]) -> PackScan:
    """The pack the fields name; refused without a GTIN or with a wrong one."""
    gtin = fields.get("01")
    if gtin is None:
        raise BarcodeError("the code has no GTIN (AI 01): it is not a medicine pack's code")
    if gtin.gtin_error:
        raise BarcodeError(
            f"GTIN {gtin.value}: {gtin.gtin_error} The pack's code is "
            "misprinted or damaged: do not accept the pack"
        )
    dated = fields["17"] if "17" in fields else fields.get("7003")
    batch, serial = fields.get("10"), fields.get("21")
    return PackScan(
        gtin.value,
        dated.date if dated is not None else None,
        batch.value if batch is not None else "",
        serial.value if serial is not None else "",
    )


def readable(text: str) -> str:
    """The scan with GS shown as <GS>, for messages and logs."""
    return text.replace(GS, "<GS>")


def from_typed(text: str) -> str:
    """A code typed by a person: <GS>, \\x1d or | stand for the GS separator."""
    return text.replace("<GS>", GS).replace("\\x1d", GS).replace("|", GS)
