"""Two goods-in desks on the running daemon (real pty scanners, mosquitto, a Modbus TCP shelf),
a clerk badged in at each: each desk's packs are booked in that desk's clerk's name, and
without `badge_reader` neither clerk is named for the other's desk. The badges come as the
badge service reports them; no PC/SC service is looked at."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from drivers.events import BadgePresented
from edge.demo.local_broker import LocalBroker
from tests.conftest import eventually
from tests.edge.putaway_rig import AMOX, STATION, STATION_2, PutawayRig, code

ANA, BEN = "04A1B2C3D4E5F6", "04B0B1B2B3B4B5"  # badge UIDs
DESK_1, DESK_2 = "rxedge-test reader 00 00", "rxedge-test reader 01 00"


def receipts(db: Path) -> list[tuple[str, str, str]]:
    """(slot, serial, actor) of every pack booked in, in order."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT to_slot, serial, actor FROM movements WHERE kind = 'receive' ORDER BY id"
        )
        return [tuple(r) for r in rows]


async def two_desks_booking(
    tmp_path: Path, broker: LocalBroker, readers: tuple[str | None, str | None]
) -> tuple[list[tuple[str, str, str]], list[str]]:
    """Ana badged in at desk 1's reader, Ben at desk 2's; a pack scanned at desk 2, then one
    at desk 1 (each scanner's `badge_reader` from `readers`): what was booked, and the
    warnings the daemon said."""
    rig = PutawayRig(tmp_path, broker)
    desks: list[dict[str, Any]] = [
        {"name": "goods-in", "port": rig.scanner.port, "receive_to": STATION},
        {"name": "desk-2", "port": rig.scanner_2.port, "receive_to": STATION_2},
    ]
    for desk, reader in zip(desks, readers, strict=True):
        desk["role"] = "receiving"
        if reader is not None:
            desk["badge_reader"] = reader
    await rig.start(
        scanners=desks,
        badges={"enabled": True, "reader": "rxedge-test"},
        pharmacists=[{"name": "Ana", "badge": ANA}, {"name": "Ben", "badge": BEN}],
    )
    try:
        assert rig.gateway is not None
        rig.gateway.events.on_event(BadgePresented(DESK_1, ANA))
        rig.gateway.events.on_event(BadgePresented(DESK_2, BEN))
        rig.scanner_2.scan(code(AMOX, "B7", 400, serial="2"))
        await eventually(lambda: len(receipts(rig.db)) == 1, what="desk 2's pack booked")
        rig.scanner.scan(code(AMOX, "B7", 400, serial="1"))
        booked = await eventually(
            lambda: (found := receipts(rig.db))[1:] and found, what="desk 1's pack booked"
        )
    finally:
        await rig.stop()
    return booked, [a.text for a in rig.activity if a.kind == "badge" and "several" in a.text]


@pytest.fixture(autouse=True)
def no_pcsc_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The daemon's badge service looks for pcscd's socket where there is none: it reports
    itself down and sees no reader (pcscd belongs to the tests that start it)."""
    monkeypatch.setenv("PCSCLITE_CSOCK_NAME", str(tmp_path / "no-pcscd.comm"))


async def test_each_desk_books_its_packs_in_the_name_of_its_own_clerk(
    tmp_path: Path, broker: LocalBroker
) -> None:
    booked, warnings = await two_desks_booking(tmp_path, broker, (DESK_1, DESK_2))
    assert booked == [(STATION_2, "2", "Ben"), (STATION, "1", "Ana")]
    assert warnings == []


async def test_without_badge_readers_neither_clerk_is_named_for_the_other_desk(
    tmp_path: Path, broker: LocalBroker
) -> None:
    booked, warnings = await two_desks_booking(tmp_path, broker, (None, None))
    assert booked == [(STATION_2, "2", "system"), (STATION, "1", "system")]
    assert len(warnings) == 2, "once for each scanner"
    assert all("set badge_reader in scanner" in w for w in warnings)
