"""Reader frames decoded per CPU-second, per protocol, against what one 115200-baud line carries.

A stream of inventory frames (one 96-bit EPC each) is fed to the decoder in 4 KiB chunks, as
reads from a serial port arrive; CPU time (process_time) is measured, so the figures are per
core. The baseline is the wire: at 115200 8N1 a line carries 11,520 bytes/s.

Then a line carrying only noise (random bytes: a reader at another baud rate than configured, a
damaged cable), in bytes per core-second: every byte of it is a place a frame might start, and
none does, so this is the decoders' worst case.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from bench.report import header, median_of, row, run_benchmark
from drivers.chafon.codec import ChafonDecoder
from drivers.chafon.inventory import Status, encode_inventory_answer, parse_inventory_answer
from drivers.r2000.codec import R2000Decoder
from drivers.r2000.inventory import encode_tag_row, parse_inventory_reply
from firmware_sim.lines import BITS_PER_BYTE
from firmware_sim.tags import sgtin96

FRAMES = 200_000
QUICK_FRAMES = 5_000
NOISE = 2_000_000  # bytes
QUICK_NOISE = 100_000
CHUNK = 4096
BAUD = 115200

EPCS = [sgtin96("4012345", "012345", n) for n in range(500)]


def _rate(stream: bytes, frames: int, decode: Callable[[bytes, float], int]) -> float:
    chunks = [stream[i : i + CHUNK] for i in range(0, len(stream), CHUNK)]
    count = 0
    started = time.process_time()
    for n, chunk in enumerate(chunks):
        count += decode(chunk, n * 0.001)
    elapsed = time.process_time() - started
    assert count == frames, count
    return count / elapsed


def _r2000(parse: bool) -> Callable[[bytes, float], int]:
    decoder = R2000Decoder()

    def decode(chunk: bytes, _now: float) -> int:
        frames = decoder.feed(chunk)
        if parse:
            for frame in frames:
                parse_inventory_reply(frame)
        return len(frames)

    return decode


def _chafon(parse: bool) -> Callable[[bytes, float], int]:
    decoder = ChafonDecoder()

    def decode(chunk: bytes, now: float) -> int:
        frames = decoder.feed(chunk, now)
        if parse:
            for frame in frames:
                parse_inventory_answer(frame)
        return len(frames)

    return decode


def _report(
    name: str,
    frames: list[bytes],
    make: Callable[[bool], Callable[[bytes, float], int]],
    total: int,
    runs: int,
) -> None:
    stream = b"".join(frames) * (total // len(frames))
    size = len(frames[0])
    wire = BAUD / BITS_PER_BYTE / size
    header(f"{name} frames decoded per core-second (one 96-bit EPC per frame)")
    row(f"baseline: one {BAUD}-baud line ({size}-byte frames)", wire, "frames/s", 1.0)
    codec = median_of(runs, lambda: _rate(stream, total, make(False)))
    row("decoder (checksum verified)", codec, "frames/s", codec / wire, "goal >= 50x")
    parsed = median_of(runs, lambda: _rate(stream, total, make(True)))
    row(
        "decoder + inventory parse", parsed, "frames/s", parsed / wire, "lines one core could serve"
    )


def _noise_rate(stream: bytes, decode: Callable[[bytes, float], int]) -> float:
    chunks = [stream[i : i + CHUNK] for i in range(0, len(stream), CHUNK)]
    started = time.process_time()
    for n, chunk in enumerate(chunks):
        decode(chunk, n * 0.001)
    return len(stream) / (time.process_time() - started)


def _report_noise(size: int, runs: int) -> None:
    stream = random.Random(7).randbytes(size)
    wire = BAUD / BITS_PER_BYTE
    header("Noise on the line (random bytes) decoded per core-second")
    row(f"baseline: one {BAUD}-baud line", wire, "bytes/s", 1.0)
    for name, make in (("R2000", _r2000), ("Chafon", _chafon)):
        rate = median_of(runs, lambda make=make: _noise_rate(stream, make(True)))
        row(f"{name} decoder + inventory parse", rate, "bytes/s", rate / wire, "goal >= 50x")


def main(quick: bool = False) -> None:
    total, runs = (QUICK_FRAMES, 1) if quick else (FRAMES, 5)
    r2000 = [encode_tag_row(1, 1 + n % 4, epc, 0x50) for n, epc in enumerate(EPCS)]
    _report("R2000", r2000, _r2000, total, runs)
    chafon = [encode_inventory_answer(0, Status.MORE, [epc]) for epc in EPCS]
    _report("Chafon", chafon, _chafon, total, runs)
    _report_noise(QUICK_NOISE if quick else NOISE, runs)


if __name__ == "__main__":
    run_benchmark(main, __doc__)
