"""EPC memory contents for simulated tags."""

from __future__ import annotations

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
