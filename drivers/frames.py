"""What both reader decoders hand out: verified frames, and counts of what they dropped; and
the scan both run over their length-prefixed frames."""

from __future__ import annotations

from collections.abc import Callable
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
    # Frames whose checksum matched but that the next frame's start did not follow: bytes lost
    # inside, so that they ran on into the next frame (protocols with a start byte).
    misframed: int = 0


# Whether buf[start:stop] is an intact frame (its checksum or CRC matches).
FrameCheck = Callable[[bytearray, int, int], bool]


@dataclass(frozen=True, slots=True)
class Framing:
    """A length-prefixed frame layout: ``[head] | Len | Addr | Cmd | Data | Check``.

    `head`: the start byte, or None when the protocol has none; `min_len`: the smallest Len
    (Addr, Cmd and the check with no data); `check_len`: the bytes of the checksum or CRC;
    `intact`: the check itself. Len counts every byte after itself."""

    head: int | None
    min_len: int
    check_len: int
    intact: FrameCheck

    def take(self, buf: bytearray, stats: DecoderStats, last: bool = False) -> list[Frame]:
        """Remove the complete frames at the front of `buf` and return the intact ones; a byte
        where no frame can start, or a frame that fails its check, is dropped and counted, and
        scanning goes on from the next byte (a real frame may start inside a bad span). What
        may still become a frame stays in `buf`.

        With a start byte, a frame that lost a byte runs on into the next one, taking its start
        byte, and a one-byte checksum then matches once in 256 times: a frame must be followed
        by a start byte, or it is dropped and counted (`misframed`). One that ends `buf` waits
        for the next byte while a frame may start inside it and run on past its end, unless
        `last` (no more bytes are coming)."""
        head, min_len, check_len, intact = self.head, self.min_len, self.check_len, self.intact
        at_len = 0 if head is None else 1  # where Len stands in a frame
        frames: list[Frame] = []
        pos, end = 0, len(buf)
        while True:
            if head is not None:
                found = buf.find(head, pos)
                if found < 0:
                    stats.garbage_bytes += end - pos
                    pos = end
                    break
                stats.garbage_bytes += found - pos
                pos = found
            if end - pos <= at_len:
                break
            length = buf[pos + at_len]
            if length < min_len:
                stats.garbage_bytes += 1
                pos += 1
                continue
            stop = pos + at_len + 1 + length
            if stop > end:
                break
            if not intact(buf, pos, stop):
                stats.bad_checksums += 1
                stats.garbage_bytes += 1
                pos += 1
                continue
            if head is not None and stop < end and buf[stop] != head:
                stats.misframed += 1
                stats.garbage_bytes += 1
                pos += 1
                continue
            if (
                head is not None
                and stop == end
                and not last
                and self._may_run_on(head, buf, pos, stop)
            ):
                break
            body = pos + at_len
            frames.append(
                Frame(buf[body + 1], buf[body + 2], bytes(buf[body + 3 : stop - check_len]))
            )
            pos = stop
        del buf[:pos]
        stats.frames += len(frames)
        return frames

    def _may_run_on(self, head: int, buf: bytearray, pos: int, stop: int) -> bool:
        """Whether a frame may start inside buf[pos:stop] and run on past `stop`: a start
        byte there whose Len would reach beyond, or is not here yet."""
        inner = buf.find(head, pos + 1, stop)
        while inner >= 0:
            if inner + 1 == stop:
                return True
            length = buf[inner + 1]
            if length >= self.min_len and inner + 2 + length > stop:
                return True
            inner = buf.find(head, inner + 1, stop)
        return False
