"""Fields run together by a scanner that drops the GS separator: refused, naming what the field
hid and the setting to change, where a GS is surely missing or where the field hides what the
pack's product carries and the code lacks; a code valid as read whose one variable-length field
is its last is read as it stands for a product that does not need what the field may hide."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inventory.codes.barcodes import GS, BarcodeError, PackScan, parse_pack_barcode
from inventory.codes.product_codes import Carried, read_scanned_pack

GTIN = "04012345123456"
MEDICINE = Carried(serial=True, batch_and_expiry=True)
COUNTED = Carried(serial=False, batch_and_expiry=True)
DEVICE = Carried(serial=True, batch_and_expiry=False)
ANY = Carried(serial=False, batch_and_expiry=False)


def at_scanner(code: str, carried: Carried) -> PackScan:
    return read_scanned_pack(code, lambda gtin: carried)


@pytest.mark.parametrize(
    ("code", "found"),
    [
        # A serial of 20 characters followed by more: the serial swallowed the expiry.
        (f"]d201{GTIN}" + "21ABCDEFGH1234" + "17250131" + "10B7", "holds (17)250131"),
        # ... or the batch, cut at 20 characters, and the expiry after it reads on its own.
        (f"]d201{GTIN}" + "21ABCDEFGH123410BAD123" + "17261231", "holds (10)BAD123"),
    ],
)
def test_a_scan_whose_gs_is_surely_missing_is_refused_whatever_the_product(
    code: str, found: str
) -> None:
    with pytest.raises(BarcodeError) as refused:
        parse_pack_barcode(code)
    said = str(refused.value)
    assert found in said
    assert "set it to transmit FNC1 as GS (0x1D)" in said


RAN_TOGETHER = [
    # Serial then batch: a pack of the recalled batch BAD would be booked without a batch.
    (f"]d201{GTIN}17261231" + "21ABCDEFGH123410BAD", "serial 'ABCDEFGH123410BAD' holds (10)BAD"),
    (f"]d201{GTIN}11230515" + "211234510678", "serial '1234510678' holds (10)678"),
    # A serialized product's code: batch B7, not B7 and the serial.
    (f"]d201{GTIN}17261231" + "10B7" + "21K4T9Q2M7X1", "batch 'B721K4T9Q2M7X1' holds (21)"),
    (f"]d201{GTIN}" + "10B7" + "17261231" + "21X", "holds (17)261231(21)X"),
    (f"]d201{GTIN}" + "10ABC123" + "17260131", "batch 'ABC12317260131' holds (17)260131"),
    (f"]d201{GTIN}" + "21AB" + "7003261231120010B", "holds (7003)2612311200(10)B"),
    (f"]d201{GTIN}17261231" + "714PT1234" + "21K4T9Q2M7", "national number"),
]


@pytest.mark.parametrize(("code", "found"), RAN_TOGETHER)
def test_a_last_field_hiding_what_a_medicine_code_lacks_is_refused_naming_it(
    code: str, found: str
) -> None:
    with pytest.raises(BarcodeError) as refused:
        at_scanner(code, MEDICINE)
    said = str(refused.value)
    assert found in said
    assert "set it to transmit FNC1 as GS (0x1D)" in said


@pytest.mark.parametrize(("code", "found"), RAN_TOGETHER)
def test_the_same_codes_read_as_they_stand_where_the_product_needs_nothing_they_lack(
    code: str, found: str
) -> None:
    """Each is valid as read: its one variable-length field is its last, so no GS is due."""
    assert at_scanner(code, ANY) == parse_pack_barcode(code)


def test_a_refusal_for_fields_run_together_says_what_it_means_if_the_scanner_sends_gs() -> None:
    for code in (f"]d201{GTIN}17261231" + "21ABCDEFGH123410BAD", RAN_TOGETHER[3][0]):
        with pytest.raises(BarcodeError) as refused:
            at_scanner(code, MEDICINE)
        assert (
            "if the scanner already sends GS (other packs' codes read fine), the pack's code is "
            "misprinted: do not accept the pack"
        ) in str(refused.value)


@pytest.mark.parametrize(
    ("code", "serial"),
    [
        # A medical device's UDI codes: a serial and no batch, the serial last, so no GS at all.
        (f"]d201{GTIN}11230515" + "211234510678", "1234510678"),
        (f"]d201{GTIN}17281231" + "21SN10023456", "SN10023456"),
        (f"]d201{GTIN}11230515" + "21C3104X7", "C3104X7"),
    ],
)
def test_a_device_code_with_a_serial_holding_10_is_read_at_every_scan(
    code: str, serial: str
) -> None:
    assert at_scanner(code, DEVICE).serial == serial


def test_a_counted_product_s_batch_holding_21_and_a_serial_s_length_is_read() -> None:
    scan = at_scanner(f"]d201{GTIN}17281231" + "10L2105123456", COUNTED)
    assert scan == PackScan(GTIN, date(2028, 12, 31), "L2105123456", "")


@pytest.mark.parametrize(
    ("code", "scan"),
    [
        # A scanner that sends GS sends it everywhere: what the fields hold is theirs.
        (
            f"]d201{GTIN}17261231" + f"10L21{GS}21AB10CD21EF",
            PackScan(GTIN, date(2026, 12, 31), "L21", "AB10CD21EF"),
        ),
        (f"]d201{GTIN}10B7{GS}21X17261231", PackScan(GTIN, None, "B7", "X17261231")),
        # One variable-length field, last: no GS is needed. A batch holding "21" (a year).
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


FIELD = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=1, max_size=17)
# GS1's character set 82 for batches and serials: letters of both cases, digits, punctuation;
# with what reads as other fields mixed in, so that the values often hold some.
CSET_82 = (
    st.lists(
        st.one_of(
            st.text(
                alphabet="!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_"
                "abcdefghijklmnopqrstuvwxyz",
                min_size=1,
            ),
            st.sampled_from(["10", "21", "17261231", "11230515", "7003261231120010", "714"]),
        ),
        min_size=1,
    )
    .map(lambda parts: "".join(parts)[:20])
    .filter(bool)
)


@given(batch=FIELD, serial=FIELD, serial_first=st.booleans())
def test_any_batch_and_serial_with_gs_read_back_and_without_it_are_refused_as_run_together(
    batch: str, serial: str, serial_first: bool
) -> None:
    """Within GS1's 20 characters, so that the run-together field is valid as read and only
    the rule, not GS1's length limit, refuses it."""
    fields = [f"10{batch}", f"21{serial}"]
    if serial_first:
        fields.reverse()
    head = f"]d201{GTIN}17261231"
    assert parse_pack_barcode(head + GS.join(fields)) == PackScan(
        GTIN, date(2026, 12, 31), batch, serial
    )
    if len(batch) + len(serial) > 18:
        return
    with pytest.raises(BarcodeError) as refused:
        at_scanner(head + "".join(fields), MEDICINE)
    said = str(refused.value)
    assert f"({'10' if serial_first else '21'})" in said.partition(" holds ")[2]
    assert "FNC1 as GS" in said


HEADS = [f"01{GTIN}", f"01{GTIN}17261231", f"01{GTIN}11230515", f"01{GTIN}17261231" + "11250101"]


@given(head=st.sampled_from(HEADS), ai=st.sampled_from(["10", "21"]), value=CSET_82)
def test_a_code_whose_one_variable_length_field_is_last_reads_as_it_stands_without_gs(
    head: str, ai: str, value: str
) -> None:
    """Whatever the field holds: no GS is due in such a code, so none is missed."""
    code = f"]d2{head}{ai}{value}"
    scan = parse_pack_barcode(code)
    assert (scan.batch if ai == "10" else scan.serial) == value
    assert at_scanner(code, ANY) == scan
    if ai == "10" and "17" in head[16:]:
        # A counted medicine's code, batch and expiry there: the batch hides nothing it lacks.
        assert at_scanner(code, COUNTED) == scan
