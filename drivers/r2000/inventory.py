"""Meaning of the answers to real-time inventory (command 0x89)."""

from __future__ import annotations

from dataclasses import dataclass

from drivers.frames import Frame
from drivers.r2000.codec import CMD_REAL_TIME_INVENTORY, encode_frame

ERROR_ANTENNA_MISSING = 0x22
_XPC_INDICATOR = 0x0200  # PC bit 9: an XPC_W1 word follows the PC
_BANK_BIT = 0x80  # RSSI bit 7 on 8-port readers: the antenna is in the second group (5-8)


@dataclass(frozen=True, slots=True)
class TagRow:
    """One tag: antenna 1-8, frequency index, PC word, EPC and RSSI (raw, 7 bits)."""

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
    if size < 4:
        return None
    pc = int.from_bytes(data[1:3], "big")
    if 6 <= size <= 8 and not _pc_matches(pc, size):
        # AntID, ReadRate (2 bytes), then TotalRead: 3 or 4 bytes depending on the firmware
        # (Len 0x09/0x0A), and some firmware adds a byte (Len 0x0B). A tag row this short would
        # carry a 2- to 4-byte EPC, which its PC word would then announce.
        return RoundEnd(
            (data[0] & 0x07) + 1, int.from_bytes(data[1:3], "big"), int.from_bytes(data[3:7], "big")
        )
    epc_start = 5 if pc & _XPC_INDICATOR else 3
    rssi = data[-1]
    return TagRow(
        antenna=(data[0] & 0x03) + 1 + (4 if rssi & _BANK_BIT else 0),
        frequency=data[0] >> 2,
        pc=pc,
        epc=bytes(data[epc_start:-1]),
        rssi=rssi & ~_BANK_BIT,
    )


def _pc_matches(pc: int, size: int) -> bool:
    """Whether the PC word's length field fits a tag row of `size` data bytes."""
    words = pc >> 11
    return size == 4 + 2 * words + (2 if pc & _XPC_INDICATOR else 0)


def encode_tag_row(address: int, antenna: int, epc: bytes, rssi: int, frequency: int = 0) -> bytes:
    """A tag row as a reader sends it; the PC word's length field matches the EPC."""
    pc = (len(epc) // 2) << 11
    freq_ant = (frequency << 2) | ((antenna - 1) & 0x03)
    rssi_byte = (rssi & 0x7F) | (_BANK_BIT if antenna > 4 else 0)
    data = bytes((freq_ant,)) + pc.to_bytes(2, "big") + epc + bytes((rssi_byte,))
    return encode_frame(address, CMD_REAL_TIME_INVENTORY, data)


def encode_round_end(address: int, antenna: int, read_rate: int, total_reads: int) -> bytes:
    """The end-of-round statistics frame (Len 0x0A: AntID, ReadRate, 4-byte TotalRead)."""
    data = bytes((antenna - 1,)) + read_rate.to_bytes(2, "big") + total_reads.to_bytes(4, "big")
    return encode_frame(address, CMD_REAL_TIME_INVENTORY, data)


def encode_error(address: int, code: int) -> bytes:
    """An error reply such as 0x22, antenna missing."""
    return encode_frame(address, CMD_REAL_TIME_INVENTORY, bytes((code,)))
