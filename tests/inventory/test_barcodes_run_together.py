"""Fields run together by a scanner that drops the GS separator: refused, naming what the field
hid and the setting to change; real codes whose batch or serial holds "10", "21" or a date pass."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inventory.codes.barcodes import GS, BarcodeError, PackScan, parse_pack_barcode
from inventory.codes.run_together import MIN_SERIAL

GTIN = "04012345123456"


@pytest.mark.parametrize(
    ("code", "found"),
    [
        # Serial then batch: a pack of the recalled batch BAD would be booked without a batch.
        (
            f"]d201{GTIN}17261231" + "21ABCDEFGH123410BAD",
            "serial 'ABCDEFGH123410BAD' holds (10)BAD",
        ),
        # A serial of 20 characters swallowed the expiry; the batch after it reads on its own.
        (f"]d201{GTIN}" + "21ABCDEFGH123417250131" + "10B7", "holds (17)250131"),
        # A counted product's code with a serial: batch B7, not B7 and the serial.
        (f"]d201{GTIN}17261231" + "10B7" + "21K4T9Q2M7X1", "batch 'B721K4T9Q2M7X1' holds (21)"),
        (f"]d201{GTIN}" + "10B7" + "17261231" + "21X", "holds (17)261231(21)X"),
        (f"]d201{GTIN}" + "10ABC123" + "17260131", "batch 'ABC12317260131' holds (17)260131"),
        (f"]d201{GTIN}" + "21AB" + "7003261231120010B", "holds (7003)2612311200(10)B"),
        (f"]d201{GTIN}17261231" + "714PT1234" + "21K4T9Q2M7", "national number"),
    ],
)
def test_a_field_that_swallowed_the_next_is_refused_naming_it(code: str, found: str) -> None:
    with pytest.raises(BarcodeError) as refused:
        parse_pack_barcode(code)
    said = str(refused.value)
    assert found in said
    assert "set it to transmit FNC1 as GS (0x1D)" in said


@pytest.mark.parametrize(
    ("code", "scan"),
    [
        # A scanner that sends GS sends it everywhere: what the fields hold is theirs.
        (
            f"]d201{GTIN}17261231" + f"10L21{GS}21AB10CD21EF",
            PackScan(GTIN, date(2026, 12, 31), "L21", "AB10CD21EF"),
        ),
        (f"]d201{GTIN}10B7{GS}21X17261231", PackScan(GTIN, None, "B7", "X17261231")),
        # One variable-length field, last: no GS is needed. A batch holding "21" (a year)
        # with too little after it for a pack serial.
        (f"]d201{GTIN}17261231" + "10L2103A", PackScan(GTIN, date(2026, 12, 31), "L2103A", "")),
        (
            f"]d201{GTIN}17261231" + "10LOT2105007",
            PackScan(GTIN, date(2026, 12, 31), "LOT2105007", ""),
        ),
        # What it holds is there already: the code's own batch and expiry.
        (
            f"]d201{GTIN}17261231" + "10A10B17261231",
            PackScan(GTIN, date(2026, 12, 31), "A10B17261231", ""),
        ),
        # What follows "17" is no date, or a date followed by what is no field.
        (f"]d201{GTIN}" + "10X17261331", PackScan(GTIN, None, "X17261331", "")),
        (f"]d201{GTIN}" + "10X17260131Q", PackScan(GTIN, None, "X17260131Q", "")),
    ],
)
def test_a_real_batch_or_serial_holding_10_21_or_a_date_passes(code: str, scan: PackScan) -> None:
    assert parse_pack_barcode(code) == scan


FIELD = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=1, max_size=8)
SERIAL = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=MIN_SERIAL, max_size=12)


@given(batch=FIELD, serial=SERIAL, serial_first=st.booleans())
def test_any_batch_and_serial_with_gs_read_back_and_without_it_are_refused(
    batch: str, serial: str, serial_first: bool
) -> None:
    fields = [f"10{batch}", f"21{serial}"]
    if serial_first:
        fields.reverse()
    head = f"]d201{GTIN}17261231"
    assert parse_pack_barcode(head + GS.join(fields)) == PackScan(
        GTIN, date(2026, 12, 31), batch, serial
    )
    with pytest.raises(BarcodeError, match="FNC1 as GS"):
        parse_pack_barcode(head + "".join(fields))
