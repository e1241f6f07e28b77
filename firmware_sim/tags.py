"""EPC memory contents for simulated tags."""

from __future__ import annotations

from typing import Any

from epcpy.epc_schemes.sgln import SGLN, SGLNFilterValue
from epcpy.epc_schemes.sgtin import SGTIN, SGTINFilterValue


def sgtin96(company_prefix: str, item_reference: str, serial: int) -> bytes:
    """The 96-bit EPC of a serialized pack (filter value 1, point-of-sale item)."""
    tag = SGTIN(f"urn:epc:id:sgtin:{company_prefix}.{item_reference}.{serial}")
    return _binary(tag, SGTIN.BinaryCodingScheme.SGTIN_96, SGTINFilterValue.POS_ITEM)


def sgln96(company_prefix: str, location_reference: str, extension: int) -> bytes:
    """The 96-bit EPC of a shelf-location tag (GLN with a numeric extension: the slot)."""
    tag = SGLN(f"urn:epc:id:sgln:{company_prefix}.{location_reference}.{extension}")
    return _binary(tag, SGLN.BinaryCodingScheme.SGLN_96, SGLNFilterValue.ALL_OTHERS)


def _binary(tag: SGTIN | SGLN, coding: Any, filter_value: Any) -> bytes:
    return bytes.fromhex(tag.hex(binary_coding_scheme=coding, filter_value=filter_value))
