"""EPC identities: packs and locations through epcpy, everything else counted and ignored."""

from __future__ import annotations

from inventory.codes.identifiers import EpcDecoder, LocationId, PackId


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
