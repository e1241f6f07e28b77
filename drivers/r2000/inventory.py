"""Meaning of the answers to real-time inventory (command 0x89)."""

from __future__ import annotations

from dataclasses import dataclass

from drivers.r2000.codec import CMD_REAL_TIME_INVENTORY, Frame, encode_frame

ERROR_ANTENNA_MISSING = 0x22


@dataclass(frozen=True, slots=True)
class TagRow:
    """One tag: antenna 1-4 (from FreqAnt's low bits), frequency index, PC word, EPC, raw RSSI."""

    antenna: int
    frequency: int
    pc: int
    epc: bytes
    rssi: int


@dataclass(frozen=True, slots=True)
class RoundEnd:
    """End of an inventory round with the reader's own statistics."""

    antenna: int
    read_rate: int
    total_reads: int


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """The reader refused or failed the command; code 0x22 means the antenna is missing."""

    code: int


InventoryReply = TagRow | RoundEnd | ErrorReply


def parse_inventory_reply(frame: Frame) -> InventoryReply | None:
    """Interpret a 0x89 frame, or None when it is some other command's answer or malformed."""
    if frame.command != CMD_REAL_TIME_INVENTORY:
        return None
    data = frame.data
    size = len(data)
    if size == 1:
        return ErrorReply(data[0])
    if size in (6, 7):
        # AntID, ReadRate (2), TotalRead: 3 bytes on some firmware, 4 on others. A tag row this
        # short would carry a 2- or 3-byte EPC, which Gen2 tags do not have.
        return RoundEnd(
            data[0] + 1, int.from_bytes(data[1:3], "big"), int.from_bytes(data[3:], "big")
        )
    if size < 4:
        return None
    freq_ant = data[0]
    return TagRow(
        antenna=(freq_ant & 0x03) + 1,
        frequency=freq_ant >> 2,
        pc=int.from_bytes(data[1:3], "big"),
        epc=bytes(data[3:-1]),
        rssi=data[-1],
    )


def encode_tag_row(address: int, antenna: int, epc: bytes, rssi: int, frequency: int = 0) -> bytes:
    """A tag row as a reader sends it; the PC word's length field matches the EPC."""
    pc = (len(epc) // 2) << 11
    freq_ant = (frequency << 2) | (antenna - 1)
    data = bytes((freq_ant,)) + pc.to_bytes(2, "big") + epc + bytes((rssi,))
    return encode_frame(address, CMD_REAL_TIME_INVENTORY, data)


def encode_round_end(address: int, antenna: int, read_rate: int, total_reads: int) -> bytes:
    """The end-of-round statistics frame (Len 0x0A: AntID, ReadRate, 4-byte TotalRead)."""
    data = bytes((antenna - 1,)) + read_rate.to_bytes(2, "big") + total_reads.to_bytes(4, "big")
    return encode_frame(address, CMD_REAL_TIME_INVENTORY, data)


def encode_error(address: int, code: int) -> bytes:
    """An error reply such as 0x22, antenna missing."""
    return encode_frame(address, CMD_REAL_TIME_INVENTORY, bytes((code,)))
