"""The Chafon (UHFReader18 / CF-RU5102) codec, pinned by published vectors."""

from __future__ import annotations

import contextlib

from hypothesis import given
from hypothesis import strategies as st

from drivers.chafon.codec import (
    INTER_BYTE_GAP,
    ChafonDecoder,
    crc16_mcrf4xx,
    encode_frame,
    inventory,
)
from drivers.chafon.inventory import (
    InventoryAnswer,
    MalformedAnswer,
    Status,
    encode_inventory_answer,
    parse_inventory_answer,
)
from drivers.frames import Frame

EPC = bytes.fromhex("3034257BF7194E4000003039")


def test_crc_is_crc16_mcrf4xx_by_its_catalogue_check_value() -> None:
    # The CRC catalogue's check value: CRC-16/MCRF4XX of ASCII "123456789" is 0x6F91.
    assert crc16_mcrf4xx(b"123456789") == 0x6F91


@given(st.binary(max_size=300))
def test_crc_is_the_bitwise_definition_of_the_readers_manual(data: bytes) -> None:
    # The manual's routine, bit by bit: reflected polynomial 0x8408, initial value 0xFFFF.
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    assert crc16_mcrf4xx(data) == crc


def test_inventory_command_is_the_documented_bytes() -> None:
    assert inventory() == bytes.fromhex("04FF011BB4")


def test_answer_frame_layout_matches_the_manual() -> None:
    # Len 0x13, Adr 00, reCmd 01, Status 03 (more follows), Num 01, EPCLen 0C, EPC, CRC LSB first.
    frame = encode_inventory_answer(0x00, Status.MORE, [EPC])
    assert frame[:6] == bytes.fromhex("130001030 10C".replace(" ", ""))
    assert frame[6:18] == EPC
    assert int.from_bytes(frame[18:], "little") == crc16_mcrf4xx(frame[:18])
    (decoded,) = ChafonDecoder().feed(frame, now=0.0)
    assert parse_inventory_answer(decoded) == InventoryAnswer(Status.MORE, (EPC,))
    assert not parse_inventory_answer(decoded).final  # type: ignore[union-attr]


def test_bad_crc_is_counted_and_the_next_frame_still_found() -> None:
    good = encode_inventory_answer(0, Status.DONE, [EPC])
    bad = good[:-1] + bytes([good[-1] ^ 0xFF])
    decoder = ChafonDecoder()
    frames = decoder.feed(bad + good, now=0.0)
    # A byte of the bad frame may pass for a length that reaches past what arrived: the good
    # frame is then found when the line stays quiet for the inter-byte gap.
    frames += decoder.expire(now=INTER_BYTE_GAP * 2)
    assert [parse_inventory_answer(f) for f in frames] == [InventoryAnswer(Status.DONE, (EPC,))]
    assert decoder.stats.bad_checksums >= 1


def test_a_gap_longer_than_15_ms_inside_a_frame_discards_it() -> None:
    frame = encode_inventory_answer(0, Status.DONE, [EPC])
    decoder = ChafonDecoder()
    assert decoder.feed(frame[:7], now=1.0) == []
    assert decoder.expire(now=1.0 + INTER_BYTE_GAP * 2) == []  # the line stayed quiet
    assert decoder.stats.gap_discards == 1
    assert decoder.feed(frame[7:], now=1.1) == []
    assert decoder.expire(now=3.0) == []  # the late rest was not a frame either
    assert len(decoder.feed(frame, now=4.0)) == 1


def test_a_frame_read_in_two_parts_far_apart_is_kept() -> None:
    """Read late (a busy loop, a USB adapter's latency timer): no quiet line was seen."""
    frame = encode_inventory_answer(0, Status.DONE, [EPC])
    decoder = ChafonDecoder()
    assert decoder.feed(frame[:7], now=1.0) == []
    assert len(decoder.feed(frame[7:], now=1.0 + INTER_BYTE_GAP * 3)) == 1
    assert decoder.stats.gap_discards == 0


def test_a_short_gap_inside_a_frame_is_fine() -> None:
    frame = encode_inventory_answer(0, Status.DONE, [EPC])
    decoder = ChafonDecoder()
    assert decoder.feed(frame[:7], now=1.0) == []
    assert len(decoder.feed(frame[7:], now=1.0 + INTER_BYTE_GAP / 2)) == 1


def test_inconsistent_epc_list_is_malformed() -> None:
    frame = Frame(0, 0x01, bytes.fromhex("0102 0C") + EPC)  # announces 2 EPCs, holds 1
    try:
        parse_inventory_answer(frame)
    except MalformedAnswer as exc:
        assert "2 EPCs" in str(exc)
    else:
        raise AssertionError("accepted a malformed answer")


@given(address=st.integers(0, 255), command=st.integers(0, 255), data=st.binary(max_size=200))
def test_any_frame_round_trips(address: int, command: int, data: bytes) -> None:
    assert ChafonDecoder().feed(encode_frame(address, command, data), now=0.0) == [
        Frame(address, command, data)
    ]


@given(
    status=st.sampled_from([Status.DONE, Status.MORE, Status.TIMEOUT, Status.MEMORY_FULL]),
    epcs=st.lists(st.binary(min_size=2, max_size=30), max_size=6),
)
def test_inventory_answers_round_trip(status: Status, epcs: list[bytes]) -> None:
    (frame,) = ChafonDecoder().feed(encode_inventory_answer(0, status, epcs), now=0.0)
    assert parse_inventory_answer(frame) == InventoryAnswer(status, tuple(epcs))


@given(st.lists(st.binary(max_size=64), max_size=20))
def test_arbitrary_bytes_never_raise_and_every_frame_checks(chunks: list[bytes]) -> None:
    decoder = ChafonDecoder()
    for n, chunk in enumerate(chunks):
        for frame in decoder.feed(chunk, now=n * 0.001):
            encoded = encode_frame(frame.address, frame.command, frame.data)
            assert crc16_mcrf4xx(encoded[:-2]) == int.from_bytes(encoded[-2:], "little")
            with contextlib.suppress(MalformedAnswer):
                parse_inventory_answer(frame)
