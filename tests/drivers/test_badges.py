"""Pharmacist badges through the real pcscd and its virtual reader, with a virtual card."""

from __future__ import annotations

import asyncio

import pytest

from drivers.events import BadgePresented, BadgeRemoved, DeviceUp, DriverEvent
from drivers.pcsc.badge_reader import BadgeReaders
from firmware_sim.virtual_badge import VirtualBadge
from tests.conftest import eventually

READER = "Virtual PCD 00 00"
UID = bytes.fromhex("04A1B2C3D4E5F6")


@pytest.mark.usefixtures("pcscd")
async def test_badge_on_and_off_the_reader_gives_its_uid_then_removal() -> None:
    events: list[DriverEvent] = []
    readers = BadgeReaders(events.append, READER, poll_interval=0.1)
    task = asyncio.create_task(readers.run())
    badge = VirtualBadge(UID)
    try:
        await eventually(lambda: DeviceUp("pcsc") in events, what="PC/SC service up")
        await badge.insert()
        await eventually(
            lambda: BadgePresented(READER, UID.hex().upper()) in events, what="badge presented"
        )
        assert badge.apdus >= 1
        await badge.remove()
        await eventually(lambda: BadgeRemoved(READER) in events, what="badge removed")
        # A second badge afterwards is a new presentation.
        other = VirtualBadge(bytes.fromhex("04112233445566"))
        await other.insert()
        await eventually(lambda: BadgePresented(READER, "04112233445566") in events)
        await other.remove()
    finally:
        await badge.remove()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
