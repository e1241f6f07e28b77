"""GS1 codes from pack barcodes (GS1 DataMatrix on medicine packs), through biip.

What a pack's code carries: AI 01 GTIN, 17 expiry (YYMMDD, day 00 = end of month), 10 batch,
21 serial. A code without 17 that carries 7003 (expiry date and time) expires on 7003's date:
the site calendar judges expiry by the day, so the time is not kept. Three forms are read: the
element string a GS1 scanner sends (symbology identifier, GS between fields), the human-readable
form "(01)...(17)...(10)..." that some scanners are set to send, and a GS1 Digital Link URI
("https://id.gs1.org/01/.../10/...?17=...", as a QR code carries it).

A code is read as GS1 says: what GS1 makes invalid (a wrong check digit, a date that does not
exist, a field longer than GS1 allows) is refused, with a message telling the pharmacist whether
the scanner or the pack is at fault. So is a scan whose fields ran together because the scanner
drops the GS separator (`run_together` gives the rule, made so that real codes pass). Whether a
pack must carry a serial is its product's policy (`check_serial`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import NoReturn

import biip
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_element_strings import GS1ElementString
from biip.gs1_messages import GS1Message

from inventory.codes.run_together import field_name, hidden_in
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
_SET_GS = (
    "the scanner is not sending the GS separator between fields: set it to transmit FNC1 as "
    "GS (0x1D) and scan again"
)


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


def parse_pack_barcode(text: str) -> PackScan:
    """Read a scanned GS1 code; BarcodeError explains any reason to refuse it."""
    text = text.strip("\r\n")
    if not text:
        raise BarcodeError("empty scan: nothing was read")
    body = text[3:] if _SYMBOLOGY.match(text) else text
    if body.startswith(("https://", "http://")):
        return _pack(_parsed(lambda: GS1DigitalLinkURI.parse(body).element_strings))
    if body.startswith("("):
        return _pack(_parsed(lambda: GS1Message.parse_hri(body).element_strings))
    if _SYMBOLOGY.match(text) and not text.startswith(_GS1_SYMBOLOGIES):
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
    if message is None and not _BAD_EXPIRY.search(error) and GS not in text and len(text) > 20:
        raise BarcodeError(
            f"the code is not valid GS1 ({error}); a batch or serial may have run into the "
            f"next field because {_SET_GS}; if it still fails, the pack's code is damaged"
        )
    if message is None:
        _refuse_unreadable(error)
    elements = _fields(message.element_strings)
    if GS not in text:
        _refuse_run_together(elements)
    return _pack(elements)


def _parsed(
    read: Callable[[], Sequence[GS1ElementString]],
) -> dict[str, GS1ElementString]:
    """The fields of a human-readable code or a Digital Link, as `read` finds them."""
    try:
        return _fields(read())
    except (biip.ParseError, IndexError, ValueError) as exc:
        _refuse_unreadable(str(exc))


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
            raise BarcodeError(
                f"the code carries AI ({ai}) twice with different values "
                f"({fields[ai].value!r}, {element.value!r}), which GS1 does not allow: the "
                "pack's code is misprinted: do not accept the pack"
            )
        fields[ai] = element
    return fields


def _refuse_run_together(fields: dict[str, GS1ElementString]) -> None:
    """Refuse a scan without GS whose variable-length field hides other fields."""
    for ai, element in fields.items():
        hidden = hidden_in(element.value, fields) if element.ai.separator_required else []
        if hidden:
            found = "".join(f"({inner}){value}" for inner, value in hidden)
            raise BarcodeError(
                f"the {field_name(ai)} {element.value!r} holds {found}: the fields ran together "
                f"because {_SET_GS}"
            )


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


def check_serial(scan: PackScan, require_serial: bool) -> None:
    """Refuse a pack without a serial when its product requires serialized packs."""
    if scan.serial or not require_serial:
        return
    raise BarcodeError(
        f"GTIN {scan.gtin} is a serialized product and this code has no serial number "
        f"(AI 21): do not accept the pack unless its code truly has none"
        f"{_serial_hint(scan.batch)}"
    )


def _serial_hint(batch: str) -> str:
    """Where the batch holds "21", the serial may be in it: the scanner dropped the GS."""
    at = batch.find("21")
    if at < 0 or not batch[at + 2 :]:
        return ""
    return (
        f"; the batch {batch!r} contains 21: if the pack shows serial {batch[at + 2 :]!r}, "
        + _SET_GS
    )


def readable(text: str) -> str:
    """The scan with GS shown as <GS>, for messages and logs."""
    return text.replace(GS, "<GS>")


def from_typed(text: str) -> str:
    """A code typed by a person: <GS>, \\x1d or | stand for the GS separator."""
    return text.replace("<GS>", GS).replace("\\x1d", GS).replace("|", GS)
