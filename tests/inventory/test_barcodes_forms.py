"""Which web addresses are a pack's GS1 Digital Link, and human-readable codes read whole: a QR
code for a leaflet is no pack's code, a Digital Link reads whatever the case of its scheme and
host, and what a link or a human-readable code says twice or leaves over is refused as such."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inventory.codes.barcodes import BarcodeError, PackScan, parse_pack_barcode
from inventory.codes.product_codes import Carried, read_scanned_pack

GTIN = "09506000134352"


@pytest.mark.parametrize(
    "code",
    [
        # QR codes on a pack that name no GTIN where a Digital Link does.
        "]Q1https://www.pharma.example/leaflet/2024/01/17",
        "]Q1https://www.pharma.example/leaflet/2024/01/15",
        "]Q1https://www.gebrauchsinformation4-0.de/ab/12345",
        "]Q1https://www.ema.europa.eu/en/medicines/human/EPAR/abc",
        "https://example.com/pil/01/123/45",
        f"https://www.news.example/2024/01/{GTIN}/story",
        # A GTIN with a wrong check digit is no GTIN.
        "https://id.gs1.org/01/09506000134353/10/ABC?17=261231",
    ],
)
def test_a_web_address_that_is_no_digital_link_is_not_gs1(code: str) -> None:
    with pytest.raises(BarcodeError) as refused:
        parse_pack_barcode(code)
    said = str(refused.value)
    assert "not GS1" in said
    assert "scan the pack's GS1 DataMatrix, not another code on it" in said


@pytest.mark.parametrize(
    "code",
    [
        f"HTTPS://ID.GS1.ORG/01/{GTIN}/10/ABC/21/XYZ?17=261231",
        f"]Q1HTTPS://ID.GS1.ORG/01/{GTIN}/10/ABC/21/XYZ?17=261231",
        f"Https://Pharma.Example/01/{GTIN}/10/ABC/21/XYZ?17=261231",
        # The brand's own path before the GTIN, even one holding "01".
        f"https://pharma.example/pil/01/2024/01/{GTIN}/10/ABC/21/XYZ?17=261231",
        # A GTIN-13 as a link may give it.
        f"https://id.gs1.org/01/{GTIN[1:]}/10/ABC/21/XYZ?17=261231",
    ],
)
def test_a_digital_link_reads_whatever_its_scheme_host_and_own_path(code: str) -> None:
    assert parse_pack_barcode(code) == PackScan(GTIN, date(2026, 12, 31), "ABC", "XYZ")


def test_a_gtin_8_digital_link_names_its_gtin_14() -> None:
    assert parse_pack_barcode("https://id.gs1.org/01/12345670").gtin == "00000012345670"


def test_a_compressed_digital_link_is_refused_asking_for_the_datamatrix() -> None:
    with pytest.raises(BarcodeError) as refused:
        parse_pack_barcode("]Q1https://id.gs1.org/ARHKVAdpQg")
    assert "compressed" in str(refused.value)
    assert "scan the pack's GS1 DataMatrix" in str(refused.value)


def test_a_digital_link_giving_an_ai_twice_with_different_values_is_refused() -> None:
    with pytest.raises(BarcodeError, match="AI \\(17\\) twice") as refused:
        parse_pack_barcode(f"https://id.gs1.org/01/{GTIN}/10/ABC?17=261231&17=270101")
    assert "'261231', '270101'" in str(refused.value)
    # The same value twice says nothing wrong.
    code = f"https://id.gs1.org/01/{GTIN}/10/ABC?17=261231&17=261231"
    assert parse_pack_barcode(code).expiry == date(2026, 12, 31)


@pytest.mark.parametrize(
    "code",
    [
        f"(01){GTIN}(10)A(10)B",
        f"https://id.gs1.org/01/{GTIN}/10/ABC?10=DEF",
    ],
)
def test_an_ai_twice_is_refused_for_that_reason_not_blamed_on_the_scanner(code: str) -> None:
    with pytest.raises(BarcodeError) as refused:
        parse_pack_barcode(code)
    said = str(refused.value)
    assert said.startswith("the code carries AI (10) twice with different values")
    assert "scanner" not in said


def test_a_human_readable_code_that_does_not_read_whole_is_refused() -> None:
    """biip's reading would skip "(C)123" and book batch AB."""
    with pytest.raises(BarcodeError) as refused:
        parse_pack_barcode(f"(01){GTIN}(17)261231(10)AB(C)123")
    assert "'(C)123' is left over" in str(refused.value)


def test_at_a_scanner_a_digital_link_without_batch_and_expiry_asks_for_the_datamatrix() -> None:
    """It names the product, not the pack: booked, it would have no batch and no date."""
    carried = Carried(serial=False, batch_and_expiry=False)
    for code in (f"https://id.gs1.org/01/{GTIN}", f"]Q1https://id.gs1.org/01/{GTIN}/21/X1"):
        assert parse_pack_barcode(code).gtin == GTIN  # enough to find the product
        with pytest.raises(BarcodeError, match="scan the pack's GS1 DataMatrix"):
            read_scanned_pack(code, lambda gtin: carried)
    dated = read_scanned_pack(f"https://id.gs1.org/01/{GTIN}?17=261231", lambda gtin: carried)
    assert dated == PackScan(GTIN, date(2026, 12, 31), "", "")


URL_TEXT = st.text(alphabet="0123456789/?&=%#:.ABCabc[]()", max_size=60)


@given(st.sampled_from(["https://", "HTTP://", f"https://id.gs1.org/01/{GTIN}", "("]), URL_TEXT)
def test_a_web_address_or_human_readable_text_is_read_or_refused_with_a_reason(
    start: str, rest: str
) -> None:
    carried = Carried()
    for read in (parse_pack_barcode, lambda code: read_scanned_pack(code, lambda g: carried)):
        try:
            scan = read(start + rest)
        except BarcodeError as exc:
            assert str(exc)
        else:
            assert len(scan.gtin) == 14 and scan.gtin.isdigit()
