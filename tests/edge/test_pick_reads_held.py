"""Picking by scanner or handheld while the ledger's disk is full. A pack read by a handheld is
kept in the action file beside the ledger as a scan is (once, however often the handheld reads
its tag), so a stop before the disk has room does not lose it. A pick scan or a handheld read
the file cannot keep (its room used up) has no slot of its own to show red at: it is held in
memory, with a warning, and booked once writing works. Real peers and a real full tmpfs, as in
tests/edge/test_pick_disk_full.py."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from edge.clock import Clock
from edge.daemon.action_journal import ActionJournal, journal_path
from edge.demo.local_broker import LocalBroker
from firmware_sim.tags import sgtin96
from inventory.changes import HandheldRead
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.pick_rig import AMOX, PREFIX, scan_code, start_rig, statuses, stock, stop_rig
from tests.edge.pick_rig import tagged_pack as pack_of
from tests.edge.test_disk_full import fill, small_disk  # noqa: F401  (a fixture)
from tests.edge.test_unkept_actions import all_handled

TAG = sgtin96("4012345", "000002", 77)  # a tagged pack on A-06, which no fixed reader watches


def pick(centre: Subscriber, pick_id: str, gtin: str) -> None:
    body = {"pick_id": pick_id, "lines": [{"gtin": gtin, "quantity": 1}], "picker": "Ana"}
    centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(body)))


def handheld_reads_kept(db: Path) -> int:
    return journal_path(db).read_bytes().count(b'"kind":"handheld-read"')


def test_a_tag_read_again_before_it_is_written_is_kept_once(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite.actions"
    journal = ActionJournal(path, Clock())
    journal.open()
    read = HandheldRead(pack_of(TAG).epc, "hh")
    first = journal.keep(read)
    assert first is not None and journal.keep(HandheldRead(read.epc, "hh")) == first
    other = journal.keep(HandheldRead(pack_of(sgtin96("4012345", "000002", 78)).epc, "hh"))
    assert other is not None and other.message_id != first.message_id
    journal.close()
    assert ActionJournal(path, Clock()).open() == [first, other], "one line each"


async def test_a_handheld_pick_through_a_full_disk_is_kept_and_booked_once_after_a_stop(
    small_disk: Path,  # noqa: F811
    broker: LocalBroker,
    subscribe: Callable[..., Subscriber],
) -> None:
    db = small_disk / "ledger.sqlite"
    stock(db)
    keeper = InventoryKeeper(db, {}, "s1", "g1")
    tagged = pack_of(TAG)
    keeper.commit(
        [
            Movement(
                MovementKind.PUT_AWAY,
                tagged.gtin,
                serial=tagged.serial,
                epc=tagged.epc,
                batch="T1",
                expiry="2031-01-31",
                to_slot="A-06",
            )
        ]
    )
    keeper.close()
    rig = await start_rig(small_disk, broker)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        gateway = rig.gateway
        assert gateway is not None
        pick(centre, "rx-h", tagged.gtin)
        await eventually(lambda: statuses(centre, "rx-h") == ["accepted"], what="accepted")
        filler = fill(small_disk)
        reads = gateway.counters["tag_reads"]
        rig.handheld.present([TAG])  # and it goes on reading it
        await eventually(lambda: handheld_reads_kept(db) == 1, what="the read kept")
        loop = asyncio.get_running_loop()
        started = loop.time()
        await eventually(  # past the handheld's repeat time (2 s): read again, offered again
            lambda: loop.time() - started > 2.5 and gateway.counters["tag_reads"] > reads + 10,
            what="the handheld reading on",
        )
        assert handheld_reads_kept(db) == 1, "one tag, one action"
        assert rig.picks() == [], "nothing written while the disk is full"
        rig.handheld.present([])
        await rig.stop_daemon()
        filler.unlink()
        await rig.start_daemon()
        await eventually(lambda: rig.picks(), timeout=20, what="the kept read booked")
        await all_handled(rig.gateway)
        assert rig.picks() == [("A-06", "T1", "rx-h")], "booked once"
    finally:
        await stop_rig(rig)


async def test_a_pick_scan_the_full_action_file_cannot_keep_is_held_and_booked_later(
    small_disk: Path,  # noqa: F811
    broker: LocalBroker,
    subscribe: Callable[..., Subscriber],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A picking scanner's scan says nothing at any slot: not kept, it is held in memory as
    before the action file (a warning says a stop would lose it), not passed over."""
    monkeypatch.setattr("edge.daemon.gateway.ActionJournal", partial(ActionJournal, size=16))
    rig = await start_rig(small_disk, broker)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        gateway = rig.gateway
        assert gateway is not None
        pick(centre, "rx-s", AMOX)
        await eventually(lambda: statuses(centre, "rx-s") == ["accepted"], what="accepted")
        caplog.set_level(logging.WARNING, logger="edge.daemon.ledger_link")
        filler = fill(small_disk)
        rig.scanner.scan(scan_code(AMOX, "EARLY", "290131"))
        await eventually(
            lambda: "ScannedAtPick" in caplog.text, what="the scan found the action file full"
        )
        assert rig.picks() == []
        filler.unlink()
        await eventually(lambda: rig.picks(), timeout=20, what="the scan booked")
        assert rig.picks() == [("A-02", "EARLY", "rx-s")]
        await eventually(lambda: "done" in statuses(centre, "rx-s"), what="the list done")
        assert "held in memory only" in caplog.text, "the warning says a stop would lose it"
        assert gateway.counters["actions_not_recorded"] == 0
    finally:
        await stop_rig(rig)
