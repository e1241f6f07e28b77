"""R2000 "A0" frame codec: ``A0 | Len | Addr | Cmd | Data | Check``.

Len counts the bytes from Addr to Check; Check is the two's complement of the sum of every byte
before it. The decoder is incremental, resynchronises on the next 0xA0 after garbage, and counts
what it drops instead of raising.
"""

from __future__ import annotations

from drivers.frames import DecoderStats, Frame

HEAD = 0xA0
CMD_REAL_TIME_INVENTORY = 0x89
# Smallest Len: Addr, Cmd and Check with no data.
_MIN_LEN = 3


def checksum(data: bytes | bytearray | memoryview) -> int:
    """Two's complement of the byte sum, as the protocol defines Check."""
    return -sum(data) & 0xFF


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
        buf = self._buf
        buf += data
        frames: list[Frame] = []
        pos = 0
        end = len(buf)
        stats = self.stats
        while True:
            head = buf.find(HEAD, pos)
            if head < 0:
                stats.garbage_bytes += end - pos
                pos = end
                break
            stats.garbage_bytes += head - pos
            pos = head
            if end - pos < 2:
                break
            length = buf[pos + 1]
            if length < _MIN_LEN:
                stats.garbage_bytes += 1
                pos += 1
                continue
            stop = pos + 2 + length
            if stop > end:
                break
            if -sum(buf[pos : stop - 1]) & 0xFF != buf[stop - 1]:
                # Not a frame after all (or a damaged one): skip this head byte only, so that a
                # real frame starting inside the bad span is still found.
                stats.bad_checksums += 1
                stats.garbage_bytes += 1
                pos += 1
                continue
            frames.append(Frame(buf[pos + 2], buf[pos + 3], bytes(buf[pos + 4 : stop - 1])))
            pos = stop
        del buf[:pos]
        stats.frames += len(frames)
        return frames

    def resync(self) -> list[Frame]:
        """Give up on the partial frame held back (its length byte was probably garbage, and no
        more bytes are coming): drop its first byte and decode what follows it."""
        if not self._buf:
            return []
        del self._buf[0]
        self.stats.garbage_bytes += 1
        return self.feed(b"")

    def pending(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buf)

    def reset(self) -> None:
        """Forget a partial frame (after the port was reopened)."""
        self._buf.clear()
