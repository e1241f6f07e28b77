"""Typed events the drivers emit. They name hardware things only (readers, antennas, slots)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TagSeen:
    """A UHF reader reported a tag on one of its antennas (RSSI 0 when the protocol has none)."""

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
class InventoryRoundCut:
    """A reader's inventory round reported `tags` tag reads but never its end (no end in time,
    an error in its place, or the link closed): those reads are of a round that did not end."""

    reader: str
    antenna: int
    tags: int


@dataclass(frozen=True, slots=True)
class AntennaFault:
    """A reader reports a problem with one antenna (ok=False), or that it is gone (ok=True)."""

    reader: str
    antenna: int
    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class BarcodeScanned:
    """A barcode scanner sent one line: the symbology identifier and element string as sent."""

    scanner: str
    text: str


@dataclass(frozen=True, slots=True)
class ScanUnreadable:
    """A barcode scanner sent something that cannot be a code (too long, bytes beyond ASCII);
    reason says what, and what to check."""

    scanner: str
    reason: str


@dataclass(frozen=True, slots=True)
class BadgePresented:
    """A card was put on a PC/SC reader; uid is its hexadecimal UID."""

    reader: str
    uid: str


@dataclass(frozen=True, slots=True)
class BadgeRemoved:
    """The card was taken off the PC/SC reader."""

    reader: str


@dataclass(frozen=True, slots=True)
class DeviceUp:
    """A device answered again (or for the first time)."""

    device: str


@dataclass(frozen=True, slots=True)
class DeviceDown:
    """A device stopped answering (or could not be reached at all); reason says what failed."""

    device: str
    reason: str


@dataclass(frozen=True, slots=True)
class ButtonPressed:
    """A slot's confirm button was pressed `presses` times since the previous poll."""

    controller: str
    slot: int
    presses: int


DriverEvent = (
    TagSeen
    | InventoryRoundDone
    | InventoryRoundCut
    | AntennaFault
    | BarcodeScanned
    | ScanUnreadable
    | BadgePresented
    | BadgeRemoved
    | DeviceUp
    | DeviceDown
    | ButtonPressed
)
