"""Chafon frames: ``Len | Adr | Cmd | Data | CRC16`` (CRC least significant byte first).

Len counts every byte after itself. The CRC is CRC-16/MCRF4XX (reflected polynomial 0x8408,
initial value 0xFFFF, no final xor) over Len..Data. The protocol has no start byte, so the
decoder resynchronises by trying the next byte after a bad CRC, and a pause of more than 15 ms
inside a frame ends it, as the readers themselves do: what was held back is decoded again from
its second byte on.
"""

from __future__ import annotations

import binascii

from drivers.frames import DecoderStats, Frame, Framing

CMD_INVENTORY = 0x01
BROADCAST = 0xFF
INTER_BYTE_GAP = 0.015
_MIN_LEN = 4  # Adr, Cmd, CRC (2)


# CRC-16/MCRF4XX is the bit-reflected form of the CRC that binascii.crc_hqx computes in C
# (polynomial 0x1021, no reflection): with every input byte's bits reversed and the result's 16
# bits reversed, one is the other. A Python loop over the bytes cost about 7 us per byte of
# noise on the line (each byte a possible frame start checked anew): a noisy handheld's line
# took a tenth of a core (bench/bench_decoders.py).
_REVERSED = bytes(int(f"{byte:08b}"[::-1], 2) for byte in range(256))


def crc16_mcrf4xx(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/MCRF4XX as the readers compute it."""
    crc = binascii.crc_hqx(bytes(data).translate(_REVERSED), 0xFFFF)
    return _REVERSED[crc & 0xFF] << 8 | _REVERSED[crc >> 8]


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
