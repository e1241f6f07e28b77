"""Typed events the drivers emit. They name hardware things only (readers, antennas, slots)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TagSeen:
    """A UHF reader reported a tag on one of its antennas."""

    reader: str
    antenna: int
    epc: bytes
    rssi: int


@dataclass(frozen=True, slots=True)
class InventoryRoundDone:
    """A reader finished one inventory round; read_rate is the reader's own figure (tags/s)."""

    reader: str
    antenna: int
    read_rate: int
    total_reads: int


@dataclass(frozen=True, slots=True)
class DeviceUp:
    """A device answered again (or for the first time)."""

    device: str


@dataclass(frozen=True, slots=True)
class DeviceDown:
    """A device stopped answering; reason says what failed."""

    device: str
    reason: str


@dataclass(frozen=True, slots=True)
class ButtonPressed:
    """A slot's confirm button was pressed `presses` times since the previous poll."""

    controller: str
    slot: int
    presses: int


DriverEvent = TagSeen | InventoryRoundDone | DeviceUp | DeviceDown | ButtonPressed
