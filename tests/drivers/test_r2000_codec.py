"""The R2000 "A0" codec, pinned by byte vectors from the protocol description."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.frames import Frame
from drivers.r2000.codec import R2000Decoder, checksum, encode_frame, real_time_inventory
from drivers.r2000.inventory import (
    ErrorReply,
    RoundEnd,
    TagRow,
    encode_round_end,
    encode_tag_row,
    parse_inventory_reply,
)

# Real-time inventory, address 01, repeat FF. Check: A0+04+01+89+FF = 0x22D; -0x2D & 0xFF = 0xD3.
GOLDEN_INVENTORY = bytes.fromhex("A00401 89 FF D3".replace(" ", ""))

# A tag row for EPC 3034257BF7194E4000003039 (urn:epc:id:sgtin:0614141.812345.12345) on antenna
# 1 (FreqAnt 0x00), PC 0x3000 (6 words), RSSI 0x4E. Len = 7 + 12 = 0x13.
# Sum: A0+13+01+89 = 0x13D; +00+30+00 = 0x16D; EPC bytes 30+34+25+7B+F7+19+4E+40+00+00+30+39
# = 0x30B -> 0x478; RSSI +4E = 0x4C6. Check = -0xC6 & 0xFF = 0x3A.
GOLDEN_TAG_ROW = bytes.fromhex("A0130189" + "00" + "3000" + "3034257BF7194E4000003039" + "4E3A")
EPC = bytes.fromhex("3034257BF7194E4000003039")


def test_inventory_command_is_the_documented_bytes() -> None:
    assert real_time_inventory(0x01, 0xFF) == GOLDEN_INVENTORY


def test_golden_tag_row_decodes_to_its_fields() -> None:
    frames = R2000Decoder().feed(GOLDEN_TAG_ROW)
    assert frames == [Frame(0x01, 0x89, bytes.fromhex("003000") + EPC + b"\x4e")]
    assert parse_inventory_reply(frames[0]) == TagRow(
        antenna=1, frequency=0, pc=0x3000, epc=EPC, rssi=0x4E
    )


def test_encoder_produces_the_golden_tag_row() -> None:
    assert encode_tag_row(0x01, 1, EPC, 0x4E) == GOLDEN_TAG_ROW


def test_round_end_with_four_byte_total() -> None:
    # Len 0x0A: AntID 00, ReadRate 0x0064, TotalRead 0x000001F4.
    body = bytes.fromhex("A00A0189000064000001F4")
    frame = body + bytes([checksum(body)])
    (parsed,) = R2000Decoder().feed(frame)
    assert parse_inventory_reply(parsed) == RoundEnd(antenna=1, read_rate=100, total_reads=500)
    assert encode_round_end(0x01, 1, 100, 500) == frame


def test_round_end_with_three_byte_total() -> None:
    body = bytes.fromhex("A0090189010010000020")
    (parsed,) = R2000Decoder().feed(body + bytes([checksum(body)]))
    assert parse_inventory_reply(parsed) == RoundEnd(antenna=2, read_rate=16, total_reads=32)


def test_round_end_of_firmware_sending_len_0x0b() -> None:
    # Len 0x0B: AntID 03, ReadRate 0x0100, TotalRead 0x00000200, and one more byte.
    body = bytes.fromhex("A00B01890301000000020000")
    (parsed,) = R2000Decoder().feed(body + bytes([checksum(body)]))
    assert parse_inventory_reply(parsed) == RoundEnd(antenna=4, read_rate=256, total_reads=512)


def test_antennas_five_to_eight_use_the_rssi_bank_bit() -> None:
    # FreqAnt 0x02 (antenna 3 of its bank), RSSI 0xC5: bank bit set -> antenna 7, RSSI 0x45.
    body = bytes.fromhex("A0130189023000") + EPC + bytes([0xC5])
    (parsed,) = R2000Decoder().feed(body + bytes([checksum(body)]))
    assert parse_inventory_reply(parsed) == TagRow(
        antenna=7, frequency=0, pc=0x3000, epc=EPC, rssi=0x45
    )


def test_xpc_word_is_skipped_before_the_epc() -> None:
    # PC 0x3200: 6 words and the XPC indicator; XPC_W1 0x0000 precedes the EPC.
    body = bytes.fromhex("A01501890032000000") + EPC + bytes([0x40])
    (parsed,) = R2000Decoder().feed(body + bytes([checksum(body)]))
    row = parse_inventory_reply(parsed)
    assert isinstance(row, TagRow) and row.epc == EPC


def test_antenna_missing_error() -> None:
    body = bytes.fromhex("A004018922")
    (parsed,) = R2000Decoder().feed(body + bytes([checksum(body)]))
    assert parse_inventory_reply(parsed) == ErrorReply(0x22)


def drain(decoder: R2000Decoder) -> list[Frame]:
    """What the decoder gives up once no more bytes come (the reader's pause rule)."""
    frames: list[Frame] = []
    while decoder.pending():
        frames += decoder.resync()
    return frames


def test_garbage_before_and_between_frames_is_skipped_and_counted() -> None:
    decoder = R2000Decoder()
    stream = b"\x00\x13\xff" + GOLDEN_TAG_ROW + b"\xa0\x01" + GOLDEN_TAG_ROW + GOLDEN_TAG_ROW
    frames = decoder.feed(stream)
    assert len(frames) == 3
    assert decoder.stats.garbage_bytes == 3 + 2


def test_a_frame_that_garbage_follows_is_dropped_and_counted() -> None:
    """A frame that lost a byte looks like one that garbage follows: both are misframed."""
    decoder = R2000Decoder()
    frames = decoder.feed(GOLDEN_TAG_ROW + b"\x55" + GOLDEN_TAG_ROW)
    assert frames == R2000Decoder().feed(GOLDEN_TAG_ROW)
    assert decoder.stats.misframed == 1


# Two tag rows as a reader sends them: the first's EPC holds A0 (its 16th byte), the start byte.
ON_SHELF = [bytes.fromhex("3034257BF7194E40FBA015A7"), bytes.fromhex("3034257BF7194E406D2B1BE1")]


def test_a_frame_that_lost_a_byte_is_not_read_into_the_next_one() -> None:
    """With the first row's A0 lost, its last 20 bytes and the next row's start byte make a
    frame whose one-byte checksum matches: a tag that is not there, and the next row lost."""
    first, second = (encode_tag_row(1, 1, epc, 0x45) for epc in ON_SHELF)
    lost = first[:16] + first[17:]
    decoder = R2000Decoder()
    frames = decoder.feed(lost + second) + drain(decoder)
    assert [parse_inventory_reply(f) for f in frames] == [
        TagRow(antenna=1, frequency=0, pc=0x3000, epc=ON_SHELF[1], rssi=0x45)
    ]
    assert decoder.stats.misframed == 1


# EPC bytes, often the start byte: a lost A0 inside a row is what makes a one-byte checksum
# match across into the next row.
EPC_BYTES = st.one_of(st.just(0xA0), st.integers(0, 255))


@settings(max_examples=300, deadline=None)
@given(
    epcs=st.lists(st.lists(EPC_BYTES, min_size=12, max_size=12).map(bytes), min_size=2, max_size=6),
    rssi=st.integers(0x20, 0x60),
    where=st.data(),
)
def test_one_byte_lost_on_the_line_never_yields_a_tag_that_was_not_read(
    epcs: list[bytes], rssi: int, where: st.DataObject
) -> None:
    stream = b"".join(encode_tag_row(1, 1, epc, rssi) for epc in epcs)
    lost = where.draw(st.integers(0, len(stream) - 1), label="lost byte")
    cut = where.draw(st.integers(0, len(stream) - 1), label="read in two at")
    damaged = stream[:lost] + stream[lost + 1 :]
    decoder = R2000Decoder()
    frames = decoder.feed(damaged[:cut]) + decoder.feed(damaged[cut:]) + drain(decoder)
    read = [r.epc for r in map(parse_inventory_reply, frames) if isinstance(r, TagRow)]
    assert set(read) <= set(epcs)


def test_a_frame_holding_a_start_byte_waits_for_what_follows_it() -> None:
    """At the end of what was read, a frame with A0 inside may be one that lost a byte: it is
    taken once the next frame's start arrives, or once nothing more comes."""
    row = encode_tag_row(1, 1, ON_SHELF[0], 0x45)
    tag = TagRow(antenna=1, frequency=0, pc=0x3000, epc=ON_SHELF[0], rssi=0x45)
    decoder = R2000Decoder()
    assert decoder.feed(row) == []
    assert [parse_inventory_reply(f) for f in decoder.feed(row[:1])] == [tag]  # the next start
    decoder = R2000Decoder()
    assert decoder.feed(row) == []
    assert [parse_inventory_reply(f) for f in drain(decoder)] == [tag]
    assert decoder.stats.garbage_bytes == 0


def test_bad_checksum_is_counted_and_dropped() -> None:
    damaged = GOLDEN_TAG_ROW[:-1] + bytes([GOLDEN_TAG_ROW[-1] ^ 0x01])
    decoder = R2000Decoder()
    assert decoder.feed(damaged + GOLDEN_TAG_ROW) == R2000Decoder().feed(GOLDEN_TAG_ROW)
    assert decoder.stats.bad_checksums == 1


def test_frame_split_across_reads_is_reassembled() -> None:
    decoder = R2000Decoder()
    frames = [f for byte in GOLDEN_TAG_ROW for f in decoder.feed(bytes([byte]))]
    assert len(frames) == 1
    assert decoder.pending() == 0


@given(
    address=st.integers(0, 255),
    command=st.integers(0, 255),
    data=st.binary(max_size=200),
)
def test_any_frame_round_trips(address: int, command: int, data: bytes) -> None:
    frame = encode_frame(address, command, data)
    # Followed by the next frame's start it is taken at once; alone, once no more bytes come.
    assert R2000Decoder().feed(frame + frame[:1]) == [Frame(address, command, data)]
    decoder = R2000Decoder()
    assert decoder.feed(frame) + drain(decoder) == [Frame(address, command, data)]


@given(st.lists(st.binary(max_size=64), max_size=20))
def test_arbitrary_bytes_never_raise_and_every_frame_checks(chunks: list[bytes]) -> None:
    decoder = R2000Decoder()
    for chunk in chunks:
        for frame in decoder.feed(chunk):
            encoded = encode_frame(frame.address, frame.command, frame.data)
            assert checksum(encoded[:-1]) == encoded[-1]


def test_resync_recovers_a_frame_hidden_behind_a_false_length() -> None:
    decoder = R2000Decoder()
    # A stray A0 whose "length" (0xA0) would swallow the real frame behind it.
    assert decoder.feed(b"\xa0" + GOLDEN_TAG_ROW) == []
    assert [parse_inventory_reply(f) for f in drain(decoder)] == [
        TagRow(antenna=1, frequency=0, pc=0x3000, epc=EPC, rssi=0x4E)
    ]
