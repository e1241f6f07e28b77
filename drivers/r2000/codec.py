"""R2000 "A0" frame codec: ``A0 | Len | Addr | Cmd | Data | Check``.

Len counts the bytes from Addr to Check; Check is the two's complement of the sum of every byte
before it. The decoder is incremental, resynchronises on the next 0xA0 after garbage, and counts
what it drops instead of raising. A frame is taken only when the next frame's 0xA0 follows it
(see `Framing.take`): a frame that lost a byte would otherwise pass its one-byte checksum with
the next frame's start byte as its own checksum.
"""

from __future__ import annotations

from drivers.frames import DecoderStats, Frame, Framing

HEAD = 0xA0
CMD_REAL_TIME_INVENTORY = 0x89
# Smallest Len: Addr, Cmd and Check with no data.
_MIN_LEN = 3


def checksum(data: bytes | bytearray | memoryview) -> int:
    """Two's complement of the byte sum, as the protocol defines Check."""
    return -sum(data) & 0xFF


def _sum_matches(buf: bytearray, start: int, stop: int) -> bool:
    return -sum(buf[start : stop - 1]) & 0xFF == buf[stop - 1]


# After garbage or a damaged frame the scan goes on from the next 0xA0, even one inside the bad
# span, so that a real frame starting there is still found.
_FRAMING = Framing(head=HEAD, min_len=_MIN_LEN, check_len=1, intact=_sum_matches)


def encode_frame(address: int, command: int, data: bytes = b"") -> bytes:
    """Build one complete frame."""
    if len(data) > 0xFF - _MIN_LEN:
        raise ValueError(f"R2000 frame data is {len(data)} bytes; at most {0xFF - _MIN_LEN} fit")
    body = bytes((HEAD, len(data) + _MIN_LEN, address, command)) + data
    return body + bytes((checksum(body),))


def real_time_inventory(address: int = 0x01, repeat: int = 0xFF) -> bytes:
    """The command that runs one real-time inventory round (``A0 04 01 89 FF D3``)."""
    return encode_frame(address, CMD_REAL_TIME_INVENTORY, bytes((repeat,)))


class R2000Decoder:
    """Turns a byte stream into frames. ``feed`` never raises on bad input."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.stats = DecoderStats()

    def feed(self, data: bytes) -> list[Frame]:
        """Add received bytes; return every complete, valid frame they finish."""
        self._buf += data
        return _FRAMING.take(self._buf, self.stats)

    def resync(self) -> list[Frame]:
        """No more bytes are coming for now: take a complete frame that was held back only for
        want of the byte after it; otherwise give up on the partial frame held back (its length
        byte was probably garbage): drop its first byte and decode what follows it."""
        if not self._buf:
            return []
        frames = _FRAMING.take(self._buf, self.stats, last=True)
        if frames or not self._buf:
            return frames
        del self._buf[0]
        self.stats.garbage_bytes += 1
        return self.feed(b"")

    def pending(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buf)

    def reset(self) -> None:
        """Forget a partial frame (after the port was reopened)."""
        self._buf.clear()
