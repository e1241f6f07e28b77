"""GS1 Digital Link URIs, as a QR code on a pack may carry its GS1 data.

A Digital Link names a pack by its path: any domain and path of the brand's own, then `/01/`
and the GTIN (8, 12, 13 or 14 digits, right check digit), then at most the qualifiers GS1
allows after a GTIN, in their order (22, 10 batch, 21 serial, 235); the other fields (17 expiry)
come as query parameters: `https://id.gs1.org/01/09506000134352/10/ABC/21/XYZ?17=261231`.
Scheme and host are read without regard to case. Any other web address (a leaflet's, a
compressed Digital Link's) is not a pack's GS1 code: `DigitalLink.of` says so with None.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_element_strings import GS1ElementString

from inventory.codes.gtin import normalize_gtin

_SCHEMES = ("http://", "https://")
_KEYS = re.compile(
    r"/01/(?P<gtin>\d{14}|\d{13}|\d{12}|\d{8})"
    r"(?:/22/[^/]+)?(?:/10/[^/]+)?(?:/21/[^/]+)?(?:/235/[^/]+)?$"
)


def is_web_address(text: str) -> bool:
    """Whether `text` is an http or https address (scheme in any case)."""
    return text[:8].lower().startswith(_SCHEMES)


@dataclass(frozen=True, slots=True)
class DigitalLink:
    """The pack-naming part of a Digital Link: its path from `/01/` on, and its query."""

    keys: str
    query: str

    @classmethod
    def of(cls, address: str) -> DigitalLink | None:
        """The Digital Link `address` is, or None: no GTIN path, or not where GS1 puts it."""
        try:
            parts = urlsplit(address)
        except ValueError:  # "https://]": a host that cannot be one
            return None
        if not parts.netloc:
            return None
        found = _KEYS.search(parts.path)
        if found is None or not _is_gtin(found["gtin"]):
            return None
        return cls(found.group(0), parts.query)

    def repeated(self) -> tuple[str, list[str]] | None:
        """An AI the query gives twice with different values, and the values; or None."""
        for key, values in parse_qs(self.query, keep_blank_values=True).items():
            if key.isdigit() and len(set(values)) > 1:
                return key, values
        return None

    def element_strings(self) -> Sequence[GS1ElementString]:
        """The fields the link carries, read by biip (which raises ParseError on a bad one)."""
        canonical = f"https://id.gs1.org{self.keys}" + (f"?{self.query}" if self.query else "")
        return GS1DigitalLinkURI.parse(canonical).element_strings


def _is_gtin(digits: str) -> bool:
    try:
        normalize_gtin(digits)
    except ValueError:
        return False
    return True
