"""Reader frames decoded per CPU-second, against what one 115200-baud line can carry.

A stream of real-time inventory tag rows (96-bit EPCs) is fed to the decoder in 4 KiB chunks,
as reads from a serial port arrive; CPU time (process_time) is measured, so the figure is per
core. The baseline is the wire: at 115200 8N1 a line carries 11,520 bytes/s.
"""

from __future__ import annotations

import time

from bench.report import header, median_of, row
from drivers.r2000.codec import R2000Decoder
from drivers.r2000.inventory import encode_tag_row, parse_inventory_reply
from firmware_sim.lines import BITS_PER_BYTE
from firmware_sim.tags import sgtin96

FRAMES = 200_000
CHUNK = 4096
BAUD = 115200


def _stream() -> tuple[bytes, int]:
    rows = [encode_tag_row(1, 1 + n % 4, sgtin96("4012345", "012345", n), 0x50) for n in range(500)]
    frame_size = len(rows[0])
    return b"".join(rows) * (FRAMES // len(rows)), frame_size


def _decode_rate(stream: bytes, parse: bool) -> float:
    decoder = R2000Decoder()
    chunks = [stream[i : i + CHUNK] for i in range(0, len(stream), CHUNK)]
    count = 0
    started = time.process_time()
    for chunk in chunks:
        frames = decoder.feed(chunk)
        if parse:
            for frame in frames:
                parse_inventory_reply(frame)
        count += len(frames)
    elapsed = time.process_time() - started
    assert count == FRAMES, count
    return count / elapsed


def main() -> None:
    stream, frame_size = _stream()
    wire = BAUD / BITS_PER_BYTE / frame_size
    header("R2000 frames decoded per core-second (tag rows, 96-bit EPC)")
    row(f"baseline: one {BAUD}-baud line ({frame_size}-byte frames)", wire, "frames/s", 1.0)
    codec = median_of(5, lambda: _decode_rate(stream, parse=False))
    row("decoder (checksum verified)", codec, "frames/s", codec / wire, "goal >= 50x")
    parsed = median_of(5, lambda: _decode_rate(stream, parse=True))
    row("decoder + tag-row parse", parsed, "frames/s", parsed / wire, "lines one core could serve")


if __name__ == "__main__":
    main()
