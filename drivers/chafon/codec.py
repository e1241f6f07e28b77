"""Chafon frames: ``Len | Adr | Cmd | Data | CRC16`` (CRC least significant byte first).

Len counts every byte after itself. The CRC is CRC-16/MCRF4XX (reflected polynomial 0x8408,
initial value 0xFFFF, no final xor) over Len..Data. The protocol has no start byte, so the
decoder resynchronises by trying the next byte after a bad CRC, and a pause of more than 15 ms
inside a frame ends it, as the readers themselves do: what was held back is decoded again from
its second byte on.
"""

from __future__ import annotations

from drivers.frames import DecoderStats, Frame, Framing

CMD_INVENTORY = 0x01
BROADCAST = 0xFF
INTER_BYTE_GAP = 0.015
_MIN_LEN = 4  # Adr, Cmd, CRC (2)


def _table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _table()


def crc16_mcrf4xx(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/MCRF4XX as the readers compute it."""
    crc = 0xFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def _crc_matches(buf: bytearray, start: int, stop: int) -> bool:
    return crc16_mcrf4xx(memoryview(buf)[start : stop - 2]) == buf[stop - 2] | buf[stop - 1] << 8


_FRAMING = Framing(head=None, min_len=_MIN_LEN, check_len=2, intact=_crc_matches)


def encode_frame(address: int, command: int, data: bytes = b"") -> bytes:
    """One complete frame with its CRC."""
    if len(data) > 0xFF - _MIN_LEN:
        raise ValueError(f"Chafon frame data is {len(data)} bytes; at most {0xFF - _MIN_LEN} fit")
    body = bytes((len(data) + _MIN_LEN, address, command)) + data
    return body + crc16_mcrf4xx(body).to_bytes(2, "little")


def inventory(address: int = BROADCAST) -> bytes:
    """The inventory command (``04 FF 01 1B B4`` for the broadcast address)."""
    return encode_frame(address, CMD_INVENTORY)


class ChafonDecoder:
    """Turns a byte stream into frames. ``feed`` never raises on bad input."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._last = 0.0
        self.stats = DecoderStats()

    def feed(self, data: bytes, now: float) -> list[Frame]:
        """Add bytes read at `now` (monotonic seconds); return the frames they complete.

        The gap rule is not applied to bytes as they come: `now` is when they were read, which
        can be well after they arrived (a busy event loop, a USB adapter's latency timer, a
        serial-to-Ethernet converter), so the two halves of one frame may be read far apart.
        `expire`, called once the line has been quiet, applies it."""
        if not data:
            return self.expire(now)
        self._last = now
        self._buf += data
        return self._parse()

    def expire(self, now: float) -> list[Frame]:
        """Apply the inter-byte gap rule: a partial frame that saw no byte for 15 ms will not
        be completed. Its first byte is dropped and what follows is decoded again (a length
        byte that was really garbage may hide whole frames behind it)."""
        frames: list[Frame] = []
        if self._buf and now - self._last > INTER_BYTE_GAP:
            self.stats.gap_discards += 1
            while self._buf:
                del self._buf[0]
                self.stats.garbage_bytes += 1
                frames += self._parse()
        return frames

    def pending(self) -> int:
        return len(self._buf)

    def reset(self) -> None:
        self._buf.clear()

    def _parse(self) -> list[Frame]:
        return _FRAMING.take(self._buf, self.stats)
