"""EPC identities: packs and locations through epcpy, everything else counted and ignored."""

from __future__ import annotations

import pytest

from inventory.codes.gtin import normalize_gtin
from inventory.codes.identifiers import EpcDecoder, LocationId, PackId, pack_of


def test_sgtin96_vectors_from_the_design() -> None:
    decoder = EpcDecoder()
    assert decoder.decode(bytes.fromhex("3034257BF7194E4000003039")) == PackId(
        "urn:epc:id:sgtin:0614141.812345.12345", "80614141123458", "12345"
    )
    assert decoder.decode(bytes.fromhex("3074257BF7194E4000001A85")) == PackId(
        "urn:epc:id:sgtin:0614141.812345.6789", "80614141123458", "6789"
    )


def test_sgtin198_carries_an_alphanumeric_serial() -> None:
    epc = bytes.fromhex("3634F4E4E40C0E60C25F8D6B4640000000000000000000000000")
    pack = EpcDecoder().decode(epc)
    assert isinstance(pack, PackId)
    assert (pack.gtin, pack.serial) == ("04012345123456", "AB/c-42")


@pytest.mark.parametrize(
    ("epc", "serial"),
    [
        # urn:epc:id:sgtin:0614141.712345.<serial>, bits laid out by hand: header 0x36, filter 1,
        # partition 5, company prefix (24 bits), item reference (20), serial 7 bits a character.
        ("3634257BF6B7A658B25CCDA00000000000000000000000000000", "12.34"),
        ("3634257BF6B7A660AE8400000000000000000000000000000000", "A.B"),
    ],
)
def test_a_serial_holding_dots_is_the_whole_serial(epc: str, serial: str) -> None:
    pack = EpcDecoder().decode(bytes.fromhex(epc))
    assert pack == PackId(f"urn:epc:id:sgtin:0614141.712345.{serial}", "70614141123451", serial)
    assert pack_of(pack.epc) == pack
    assert pack_of("urn:epc:id:sgtin:0614141.712345.1.2%2F3") == PackId(
        "urn:epc:id:sgtin:0614141.712345.1.2%2F3", "70614141123451", "1.2/3"
    )


def test_sgln96_is_a_location() -> None:
    location = EpcDecoder().decode(bytes.fromhex("3234F4E4E400020000000007"))
    assert location == LocationId("urn:epc:id:sgln:4012345.00001.7", "4012345000016", "7")


def test_foreign_and_malformed_tags_are_counted_by_kind() -> None:
    decoder = EpcDecoder()
    for epc in (
        bytes.fromhex("E2801160600002054B3A1B1C"),  # a TID
        bytes.fromhex("E2801160600002054B3A1B1C"),
        bytes.fromhex("3034257BF7194E40000030"),  # SGTIN header, 88 bits
        bytes.fromhex("AA" * 12),  # some other scheme
        b"",
    ):
        assert decoder.decode(epc) is None
    assert decoder.ignored == {"tid": 2, "malformed-sgtin": 1, "header-aa": 1, "empty": 1}


@pytest.mark.parametrize(
    ("typed", "gtin14"),
    [
        ("96385074", "00000096385074"),  # GTIN-8 (EAN-8)
        ("036000291452", "00036000291452"),  # GTIN-12 (UPC-A)
        ("4012345123456", "04012345123456"),  # GTIN-13 (EAN-13)
        ("04012345123456", "04012345123456"),
        (" 4012345123456 ", "04012345123456"),
    ],
)
def test_a_gtin_of_8_12_or_13_digits_is_the_gtin14_with_leading_zeros(
    typed: str, gtin14: str
) -> None:
    assert normalize_gtin(typed) == gtin14


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("4012345123457", "its last digit should be 6"),
        ("96385075", "its last digit should be 4"),
        ("40123451234", "must be 8, 12, 13 or 14 digits"),
        ("401234512345\uff16", "must be 8, 12, 13 or 14 digits"),  # a full-width digit
        ("4012345-23456", "must be 8, 12, 13 or 14 digits"),
        ("", "must be 8, 12, 13 or 14 digits"),
    ],
)
def test_a_wrong_gtin_is_refused_in_words(typed: str, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        normalize_gtin(typed)
