"""GS1 identities read from EPC tags: packs (SGTIN) and shelf locations (SGLN)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from urllib.parse import unquote

from epcpy.epc_schemes.sgln import SGLN
from epcpy.epc_schemes.sgtin import SGTIN
from epcpy.utils.common import ConvertException
from epcpy.utils.parsers import hex_to_tag_encodable

from inventory.codes.gtin import gtin_check_digit


@dataclass(frozen=True, slots=True)
class PackId:
    """A serialized pack: its EPC pure-identity URI, GTIN-14 and serial."""

    epc: str
    gtin: str
    serial: str


@dataclass(frozen=True, slots=True)
class LocationId:
    """A shelf-location tag: EPC URI of an SGLN, its GLN and extension (one slot each)."""

    epc: str
    gln: str
    extension: str


Identity = PackId | LocationId


def gln_problem(value: str) -> str | None:
    """What is wrong with a GLN for location URIs, or None."""
    if len(value) != 13 or not value.isdigit():
        return f"GLN {value!r} must be exactly 13 digits"
    if gtin_check_digit(value[:12]) != int(value[12]):
        return f"GLN {value} has a wrong check digit (expected {gtin_check_digit(value[:12])})"
    if company_prefix(value) is None:
        return (
            f"GLN {value}: its GS1 company prefix is not in GS1's prefix length table, so its "
            "SGLN cannot be written; check the number with the GS1 member organisation"
        )
    return None


def company_prefix(key: str) -> str | None:
    """The GS1 company prefix a GLN (13 digits) or GTIN-13 payload starts with, from GS1's
    prefix length table (shipped with biip); None where the table does not say."""
    # Loaded when first asked: the table takes a tenth of a second, which reading tags needs not.
    from biip.gs1_prefixes import GS1CompanyPrefix

    found = GS1CompanyPrefix.extract(key)
    return found.value if found is not None else None


def sgln_uri(gln: str, extension: str) -> str:
    """The EPC URI of a location: GLN plus extension ("0": none), e.g.
    urn:epc:id:sgln:4012345.00001.7."""
    prefix = company_prefix(gln)
    if prefix is None:
        raise ValueError(gln_problem(gln) or f"GLN {gln} has no known company prefix")
    return f"urn:epc:id:sgln:{prefix}.{gln[len(prefix) : 12]}.{_epc_escape(extension)}"


def pack_of(epc: str) -> PackId | None:
    """The pack an EPC pure-identity URI (urn:epc:id:sgtin:...) names; None for any other."""
    try:
        gtin = SGTIN(epc).gtin()
    except ConvertException:
        return None
    return PackId(epc, gtin, _serial_of(epc))


def _serial_of(sgtin_uri: str) -> str:
    """The serial of urn:epc:id:sgtin:CompanyPrefix.ItemRef.Serial: all after the second dot,
    unescaped, for a serial may hold dots (and colons) itself."""
    return unquote(sgtin_uri.split(":", 4)[4].split(".", 2)[2])


def _epc_escape(text: str) -> str:
    """Escape the characters an EPC URI component may not hold as they are (TDS 2.x)."""
    return "".join(f"%{ord(c):02X}" if c in '"%&/<>?' else c for c in text)


_SGLN_ELEMENTS = re.compile(r"\(414\)(?P<gln>\d{13})(?:\(254\)(?P<extension>.*))?")


class EpcDecoder:
    """Decodes EPC memory into identities, remembering results: readers repeat the same tags
    many times a second. Tags that are not GS1 packs or locations are counted by kind."""

    def __init__(self, cache_size: int = 100_000):
        self._cache: dict[bytes, Identity | None] = {}
        self._cache_size = cache_size
        self.ignored: Counter[str] = Counter()

    def decode(self, epc: bytes) -> Identity | None:
        """The identity in `epc`, or None for a tag we do not track (counted in `ignored`)."""
        try:
            found = self._cache[epc]
        except KeyError:
            found = self._decode_new(epc)
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            self._cache[epc] = found
        if found is None:
            self.ignored[_kind_of(epc)] += 1
        return found

    @staticmethod
    def _decode_new(epc: bytes) -> Identity | None:
        try:
            tag = hex_to_tag_encodable(epc.hex().upper())
        except Exception:  # epcpy raises several types for foreign and malformed EPCs
            return None
        if isinstance(tag, SGTIN):
            uri = tag.epc_uri
            return PackId(epc=uri, gtin=tag.gtin(), serial=_serial_of(uri))
        if isinstance(tag, SGLN):
            # The element string reads (414)GLN(254)extension.
            match = _SGLN_ELEMENTS.fullmatch(tag.gs1_element_string())
            if match is None:
                return None
            return LocationId(tag.epc_uri, match["gln"], match["extension"] or "0")
        return None


def pack_named(text: str) -> PackId:
    """The pack a person names by its EPC: the pure-identity URI (urn:epc:id:sgtin:...) or the
    EPC memory in hex, as a reader and `rxedge tag decode` show it (spaces and colons between
    bytes allowed). ValueError says what is wrong in words."""
    typed = text.strip()
    example = "e.g. urn:epc:id:sgtin:4012345.012345.7 or 3034F4E4E40C0E4000000007"
    if typed.lower().startswith("urn:"):
        # "urn:epc:id:sgtin:" in any case, as URN schemes are (and as some systems print it);
        # the serial after it keeps its own.
        head = typed.split(":", 4)
        typed = ":".join([*(part.lower() for part in head[:4]), *head[4:]])
        if (pack := pack_of(typed)) is None:
            raise ValueError(
                f"{text!r} is not the EPC URI of a pack (urn:epc:id:sgtin:"
                "CompanyPrefix.ItemReference.Serial, as `rxedge tag decode` shows it); "
                f"{example}"
            )
        return pack
    memory = typed.replace(" ", "").replace(":", "")
    try:
        tag = bytes.fromhex(memory)
    except ValueError:
        tag = b""
    if not tag:
        raise ValueError(f"{text!r} is neither an EPC URI nor EPC memory in hex; {example}")
    if not isinstance(identity := EpcDecoder().decode(tag), PackId):
        raise ValueError(
            f"{memory.upper()} is not a pack's tag (SGTIN-96 or SGTIN-198): `rxedge tag decode "
            f"{memory.upper()}` says what it is"
        )
    return identity


def _kind_of(epc: bytes) -> str:
    if not epc:
        return "empty"
    header = epc[0]
    if header in (0x30, 0x36):
        return "malformed-sgtin"
    if header in (0x32, 0x39):
        return "malformed-sgln"
    if header == 0xE2:
        return "tid"
    return f"header-{header:02x}"
