"""What both reader decoders hand out: verified frames, and counts of what they dropped."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame whose checksum (or CRC) was verified."""

    address: int
    command: int
    data: bytes


@dataclass(slots=True)
class DecoderStats:
    """What a decoder has seen; every dropped byte is accounted for."""

    frames: int = 0
    bad_checksums: int = 0  # checksums or CRCs that did not match
    garbage_bytes: int = 0
    gap_discards: int = 0  # partial frames given up after a pause (protocols with a gap rule)
