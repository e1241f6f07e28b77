"""EPC memory contents for simulated tags."""

from __future__ import annotations

from epcpy.epc_schemes.sgln import SGLN, SGLNFilterValue
from epcpy.epc_schemes.sgtin import SGTIN, SGTINFilterValue


def sgtin96(company_prefix: str, item_reference: str, serial: int) -> bytes:
    """The 96-bit EPC of a serialized pack (filter value 1, point-of-sale item)."""
    uri = f"urn:epc:id:sgtin:{company_prefix}.{item_reference}.{serial}"
    return bytes.fromhex(
        SGTIN(uri).hex(
            binary_coding_scheme=SGTIN.BinaryCodingScheme.SGTIN_96,
            filter_value=SGTINFilterValue.POS_ITEM,
        )
    )


def sgln96(company_prefix: str, location_reference: str, extension: int) -> bytes:
    """The 96-bit EPC of a shelf-location tag (GLN with a numeric extension: the slot)."""
    uri = f"urn:epc:id:sgln:{company_prefix}.{location_reference}.{extension}"
    return bytes.fromhex(
        SGLN(uri).hex(
            binary_coding_scheme=SGLN.BinaryCodingScheme.SGLN_96,
            filter_value=SGLNFilterValue.ALL_OTHERS,
        )
    )
