"""Fuzz targets for everything that reads bytes or text from outside: both reader decoders and
the barcode path. In the normal suite they run a few hundred examples each; `make fuzz` runs
them with the "fuzz" hypothesis profile (many more examples, bounded by FUZZ_EXAMPLES).

Properties: nothing raises but the documented refusal, and no frame with a wrong checksum comes
out, whatever is done to a valid stream (bytes dropped, flipped, inserted)."""

from __future__ import annotations

import contextlib

from hypothesis import given
from hypothesis import strategies as st

from drivers.chafon.codec import ChafonDecoder, crc16_mcrf4xx
from drivers.chafon.codec import encode_frame as chafon_frame
from drivers.chafon.inventory import (
    MalformedAnswer,
    encode_inventory_answer,
    parse_inventory_answer,
)
from drivers.r2000.codec import R2000Decoder, checksum
from drivers.r2000.codec import encode_frame as r2000_frame
from drivers.r2000.inventory import encode_tag_row, parse_inventory_reply
from inventory.codes.barcodes import BarcodeError, parse_pack_barcode

EPCS = st.binary(min_size=12, max_size=12)


@st.composite
def damaged(draw: st.DrawFn, stream: bytes) -> bytes:
    """`stream` with some bytes dropped, flipped or inserted."""
    data = bytearray(stream)
    for _ in range(draw(st.integers(0, 6))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["drop", "flip", "insert"]))
        if action == "drop":
            del data[at]
        elif action == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        else:
            data.insert(at, draw(st.integers(0, 255)))
    return bytes(data)


@st.composite
def r2000_streams(draw: st.DrawFn) -> bytes:
    rows = [encode_tag_row(1, draw(st.integers(1, 8)), epc, 0x40) for epc in draw(st.lists(EPCS))]
    return draw(damaged(b"".join(rows)))


@st.composite
def chafon_streams(draw: st.DrawFn) -> bytes:
    epcs = draw(st.lists(EPCS, max_size=12))
    frames = [encode_inventory_answer(0, 0x03, epcs[i : i + 4]) for i in range(0, len(epcs), 4)]
    return draw(damaged(b"".join(frames)))


@given(r2000_streams(), st.integers(1, 64))
def test_r2000_decoder_survives_damaged_streams(stream: bytes, chunk: int) -> None:
    decoder = R2000Decoder()
    frames = []
    for i in range(0, len(stream), chunk):
        frames += decoder.feed(stream[i : i + chunk])
    while decoder.pending():
        frames += decoder.resync()
    for frame in frames:
        encoded = r2000_frame(frame.address, frame.command, frame.data)
        assert checksum(encoded[:-1]) == encoded[-1]
        parse_inventory_reply(frame)


@given(chafon_streams(), st.integers(1, 64))
def test_chafon_decoder_survives_damaged_streams(stream: bytes, chunk: int) -> None:
    decoder = ChafonDecoder()
    frames = []
    for n, i in enumerate(range(0, len(stream), chunk)):
        frames += decoder.feed(stream[i : i + chunk], now=n * 0.001)
    frames += decoder.expire(now=10.0)
    for frame in frames:
        encoded = chafon_frame(frame.address, frame.command, frame.data)
        assert crc16_mcrf4xx(encoded[:-2]) == int.from_bytes(encoded[-2:], "little")
        with contextlib.suppress(MalformedAnswer):
            parse_inventory_answer(frame)


GS1_TEXT = st.text(alphabet="0123456789ABCXYZ\x1d]d2%/-", max_size=60)


@given(st.one_of(GS1_TEXT, st.text(max_size=60)))
def test_barcode_path_only_ever_refuses_with_a_reason(text: str) -> None:
    try:
        scan = parse_pack_barcode(text)
    except BarcodeError as exc:
        assert str(exc)
        return
    assert len(scan.gtin) == 14 and scan.gtin.isdigit()
