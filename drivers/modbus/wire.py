"""Modbus RTU on the wire: how big each request and its response are, the most one request may
carry, and how long an exchange keeps the line busy at a given baud rate.

Characters are 8 data bits: 10 bits on the wire at 8N1, 11 with a parity bit or a second stop
bit, 12 with both. Every frame is followed by 3.5 characters of silence, which is how RTU marks
the end of a frame, so one exchange is request + silence + response + silence.
"""

from __future__ import annotations

from enum import IntEnum

BITS_PER_CHAR = 10
SILENCE_CHARS = 3.5
LONGEST_FRAME = 256  # bytes in the largest RTU frame (Modbus over serial line, 1.02)


class FunctionCode(IntEnum):
    READ_COILS = 1
    READ_DISCRETE_INPUTS = 2
    READ_HOLDING_REGISTERS = 3
    READ_INPUT_REGISTERS = 4
    WRITE_COILS = 15
    WRITE_REGISTERS = 16


# The most values one request may carry (Modbus application protocol 1.1b3).
MAX_COUNT = {
    FunctionCode.READ_COILS: 2000,
    FunctionCode.READ_DISCRETE_INPUTS: 2000,
    FunctionCode.READ_HOLDING_REGISTERS: 125,
    FunctionCode.READ_INPUT_REGISTERS: 125,
    FunctionCode.WRITE_COILS: 1968,
    FunctionCode.WRITE_REGISTERS: 123,
}

_BIT_CODES = (FunctionCode.READ_COILS, FunctionCode.READ_DISCRETE_INPUTS)


def _data_bytes(fc: FunctionCode, count: int) -> int:
    if fc in _BIT_CODES or fc is FunctionCode.WRITE_COILS:
        return (count + 7) // 8
    return 2 * count


def request_size(fc: FunctionCode, count: int) -> int:
    """Bytes of the RTU request: device id, function, address, quantity, [byte count, data], CRC."""
    if fc in (FunctionCode.WRITE_COILS, FunctionCode.WRITE_REGISTERS):
        return 9 + _data_bytes(fc, count)
    return 8


def response_size(fc: FunctionCode, count: int) -> int:
    """Bytes of the RTU response: device id, function, [byte count, data | address, quantity],
    CRC."""
    if fc in (FunctionCode.WRITE_COILS, FunctionCode.WRITE_REGISTERS):
        return 8
    return 5 + _data_bytes(fc, count)


def char_bits(parity: str = "N", stopbits: int = 1) -> int:
    """Bits one 8-bit character takes on the wire: start, data, parity, stop."""
    return 1 + 8 + (parity != "N") + stopbits


def char_time(baudrate: int, bits: int = BITS_PER_CHAR) -> float:
    """Seconds one character of `bits` bits takes on the line."""
    return bits / baudrate


def silence(baudrate: int, bits: int = BITS_PER_CHAR) -> float:
    """The silence that ends a frame, in seconds."""
    return SILENCE_CHARS * char_time(baudrate, bits)


def exchange_time(baudrate: int, fc: FunctionCode, count: int, bits: int = BITS_PER_CHAR) -> float:
    """Seconds the line is busy for one request carrying `count` values and its answer."""
    chars = request_size(fc, count) + response_size(fc, count)
    return chars * char_time(baudrate, bits) + 2 * silence(baudrate, bits)
