"""Who the ledger names for what a desk books: the clerk badged in at that desk's own badge
reader (`badge_reader` of its scanner), never the clerk at another desk. A scanner that names
no reader is credited to the one person badged in; with several badged in at different readers
nobody is guessed ("system"), and one warning names the key that fixes it. A handheld's sweep
follows the same rule. Badges are fed as the badge service reports them (no PC/SC service)."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

from drivers.events import BadgePresented, BadgeRemoved, BarcodeScanned, InventoryRoundDone, TagSeen
from edge.clock import Clock
from edge.daemon.activity import Activity
from edge.daemon.badges import BadgeHolders
from edge.daemon.device_events import DeviceEvents
from edge.daemon.stocktake_flow import StocktakeFlow
from edge.settings.config import parse_config
from firmware_sim.tags import sgln96
from inventory.changes import Change, PutawayScan, ReceivedScan, ScannedAtPick, StocktakeStarted
from inventory.site_calendar import SiteCalendar
from inventory.stock.presence import PresenceTracker
from tests.edge.putaway_rig import AMOX, code

ANA, BEN = "04A1B2C3D4E5F6", "04B0B1B2B3B4B5"  # badge UIDs
DESK_1 = "ACS ACR122U PICC Interface 00 00"  # the PC/SC names of the two desks' badge readers
DESK_2 = "ACS ACR122U PICC Interface 01 00"


class Desks:
    """The daemon's device event handling, with its real badge holders and stocktake flow,
    built from a configuration; what it offers the ledger and says are kept."""

    def __init__(self, tmp_path: Path, scanners: list[dict[str, Any]], handheld: bool = False):
        config = parse_config(
            {
                "site": "s1",
                "gateway": "g1",
                "database": str(tmp_path / "ledger.sqlite"),
                "scanners": scanners,
                "readers": (
                    [{"name": "hh", "protocol": "chafon", "role": "handheld", "port": "hh"}]
                    if handheld
                    else []
                ),
                "badges": {"enabled": True, "reader": "ACR122U"},
                "pharmacists": [{"name": "Ana", "badge": ANA}, {"name": "Ben", "badge": BEN}],
                "shelves": [{"name": "A", "host": "127.0.0.1", "slots": 8, "gln": "4012345000016"}],
            }
        )
        self.changes: list[Change] = []
        self.said: list[Activity] = []
        clock = Clock()
        stocktake = StocktakeFlow(
            config, self.changes.append, self.said.append, dict, clock, SiteCalendar(None)
        )
        self.events = DeviceEvents(
            config,
            self.changes.append,
            self.said.append,
            PresenceTracker(5.0),
            stocktake,
            BadgeHolders.configured(config, self.said.append),
            lambda: False,
            lambda _slot: None,
            Counter(),
            clock,
        )

    def scan(self, scanner: str, serial: str) -> str:
        """A pack scanned at `scanner`: the actor of what it offers the ledger."""
        self.events.on_event(BarcodeScanned(scanner, "]d2" + code(AMOX, "B7", 400, serial)))
        booked = self.changes[-1]
        assert isinstance(booked, ReceivedScan | PutawayScan)
        return booked.actor

    def warnings(self) -> list[str]:
        return [a.text for a in self.said if a.level == logging.WARNING]


def scanner(name: str, role: str, slot: str, badge_reader: str | None = None) -> dict[str, Any]:
    entry = {"name": name, "port": f"/dev/{name}", "role": role, "receive_to": slot}
    return entry | ({"badge_reader": badge_reader} if badge_reader else {})


def test_each_desk_books_in_the_name_of_the_clerk_badged_in_at_its_own_reader(
    tmp_path: Path,
) -> None:
    desks = Desks(
        tmp_path,
        [
            scanner("goods-in", "receiving", "A-08", DESK_1),
            scanner("desk-2", "putaway", "A-07", DESK_2),
        ],
    )
    assert desks.scan("goods-in", "1") == "system", "nobody badged in at the desk"
    desks.events.on_event(BadgePresented(DESK_1, ANA))
    desks.events.on_event(BadgePresented(DESK_2, BEN))
    assert desks.scan("desk-2", "2") == "Ben"
    assert desks.scan("goods-in", "3") == "Ana"
    desks.events.on_event(BadgeRemoved(DESK_2))  # Ben leaves; Ana stays at her desk
    assert desks.scan("desk-2", "4") == "system", "Ana is not at desk-2"
    assert desks.scan("goods-in", "5") == "Ana"
    assert desks.warnings() == []


def test_a_scanner_naming_no_reader_is_credited_to_the_one_person_badged_in_and_never_guessed(
    tmp_path: Path,
) -> None:
    desks = Desks(
        tmp_path,
        [scanner("goods-in", "receiving", "A-08"), scanner("desk-2", "putaway", "A-07")],
    )
    desks.events.on_event(BadgePresented(DESK_1, ANA))
    assert desks.scan("desk-2", "1") == "Ana", "the one person badged in"
    desks.events.on_event(BadgePresented(DESK_2, BEN))
    assert desks.scan("desk-2", "2") == "system", "Ana or Ben: not guessed"
    assert desks.scan("desk-2", "3") == "system"
    assert desks.warnings() == [
        f"several people are badged in (Ana on {DESK_1}, Ben on {DESK_2}), so scanner desk-2's "
        "scans are booked as 'system' rather than guess; set badge_reader in scanner desk-2's "
        "[[scanners]] entry to the badge reader at its desk"
    ], "one warning for the scanner, naming the key"
    assert desks.scan("goods-in", "4") == "system"
    assert len(desks.warnings()) == 2 and "scanner goods-in's" in desks.warnings()[1]
    desks.events.on_event(BadgeRemoved(DESK_1))
    assert desks.scan("goods-in", "5") == "Ben", "one person badged in again"


def started_by(tmp_path: Path, *badges: tuple[str, str]) -> tuple[str, list[str]]:
    """Who a sweep the handheld starts (reading a location tag of shelf A) is credited to,
    with `badges` (reader, uid) badged in; and the warnings said."""
    desks = Desks(tmp_path, [], handheld=True)
    for reader, uid in badges:
        desks.events.on_event(BadgePresented(reader, uid))
    desks.events.on_event(TagSeen("hh", 1, sgln96("4012345", "00001", 1), -50))
    desks.events.on_event(InventoryRoundDone("hh", 1, 0, 1))
    [started] = [c for c in desks.changes if isinstance(c, StocktakeStarted)]
    return started.sweep.by, desks.warnings()


def test_a_handheld_sweep_is_credited_to_the_one_person_badged_in_and_never_guessed(
    tmp_path: Path,
) -> None:
    assert started_by(tmp_path / "one", (DESK_2, BEN)) == ("Ben", [])
    by, warnings = started_by(tmp_path / "two", (DESK_1, ANA), (DESK_2, BEN))
    assert by == "handheld", "Ana or Ben: not guessed"
    [warning] = warnings
    assert "stocktake sweeps are credited to no badge holder" in warning
    assert "`rxedge stocktake start SHELF --by NAME`" in warning


def test_a_picking_scanner_asks_for_no_badge_holder_and_warns_of_none(tmp_path: Path) -> None:
    """A pick is booked for the pick list's picker: several people badged in say nothing about
    a picking scanner (which may not name a badge reader at all)."""
    desks = Desks(tmp_path, [{"name": "pick-1", "port": "/dev/pick-1", "role": "picking"}])
    desks.events.on_event(BadgePresented(DESK_1, ANA))
    desks.events.on_event(BadgePresented(DESK_2, BEN))
    desks.events.on_event(BarcodeScanned("pick-1", "]d2" + code(AMOX, "B7", 400, "9")))
    assert isinstance(desks.changes[-1], ScannedAtPick)
    assert desks.warnings() == []
