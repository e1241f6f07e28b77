"""The answer to Chafon inventory: ``Status | Num | {EPCLen EPC}...``, possibly over several
frames (status 0x03: more frames follow)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from drivers.chafon.codec import CMD_INVENTORY, encode_frame
from drivers.errors import DriverError
from drivers.frames import Frame


class Status(IntEnum):
    DONE = 0x01
    TIMEOUT = 0x02
    MORE = 0x03
    MEMORY_FULL = 0x04
    ANTENNA_ERROR = 0xF8


STATUS_TEXT = {
    Status.DONE: "inventory done",
    Status.TIMEOUT: "inventory time ran out before every tag was read",
    Status.MORE: "more frames follow",
    Status.MEMORY_FULL: "reader memory full: too many tags in the field",
    Status.ANTENNA_ERROR: "antenna error (antenna missing or broken)",
}


@dataclass(frozen=True, slots=True)
class InventoryAnswer:
    """One frame of an inventory answer. `final` is False while more frames follow."""

    status: int
    epcs: tuple[bytes, ...]

    @property
    def final(self) -> bool:
        return self.status != Status.MORE


class MalformedAnswer(DriverError, ValueError):
    """The EPC list inside a frame with a valid CRC does not add up."""


def parse_inventory_answer(frame: Frame) -> InventoryAnswer | None:
    """Interpret an inventory answer frame; None for other commands. Raises MalformedAnswer
    when its EPC list is inconsistent."""
    if frame.command != CMD_INVENTORY or not frame.data:
        return None
    status, data = frame.data[0], frame.data[1:]
    if status not in (Status.DONE, Status.TIMEOUT, Status.MORE, Status.MEMORY_FULL):
        return InventoryAnswer(status, ())
    if not data:
        return InventoryAnswer(status, ())
    count, pos = data[0], 1
    epcs: list[bytes] = []
    for _ in range(count):
        if pos >= len(data):
            raise MalformedAnswer(f"answer announces {count} EPCs but holds {len(epcs)}")
        size = data[pos]
        epc = data[pos + 1 : pos + 1 + size]
        if len(epc) != size:
            raise MalformedAnswer(f"EPC of {size} bytes is cut short at {len(epc)}")
        epcs.append(bytes(epc))
        pos += 1 + size
    if pos != len(data):
        raise MalformedAnswer(f"{len(data) - pos} bytes left over after {count} EPCs")
    return InventoryAnswer(status, tuple(epcs))


def encode_inventory_answer(address: int, status: int, epcs: list[bytes]) -> bytes:
    """One answer frame as a reader sends it."""
    data = bytes((status, len(epcs))) + b"".join(bytes((len(e),)) + e for e in epcs)
    return encode_frame(address, CMD_INVENTORY, data)
