"""Held packs leaving the shelves on the running daemon with real peers (mosquitto, a pty R2000
reader on A-08, a Modbus TCP shelf controller): an expired tagged pack taken off a watched slot
is written off by itself and its slot goes dark; expired packs without tags are written off
from the command line by name, anything else refused; and a pack taken by mistake during a
pick and never put back stops blinking once someone acknowledges its alarm."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

from drivers.modbus.lights import DARK
from edge.demo.local_broker import LocalBroker
from edge.lights.light_plan import HELD_LIGHT
from firmware_sim.tags import sgtin96
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.pick_rig import (
    AMOX,
    PREFIX,
    RED,
    TAGGED,
    Rig,
    start_rig,
    statuses,
    stop_rig,
    tagged_pack,
    two_tagged_packs_put_away,
)

EXPIRED_TAG = sgtin96("4012345", "000002", 11)  # a paracetamol pack of a batch long expired
TARGET = ["--broker", "", "--site", "s1", "--gateway", "g1"]


class ExpiredTagRig(Rig):
    """The pick rig with an expired tagged pack booked on A-08, the reader's slot."""

    def stock(self) -> None:
        super().stock()
        pack = tagged_pack(EXPIRED_TAG)
        keeper = InventoryKeeper(self.db, {}, "s1", "g1")
        keeper.commit(
            [
                Movement(
                    MovementKind.PUT_AWAY,
                    pack.gtin,
                    serial=pack.serial,
                    epc=pack.epc,
                    batch="GONE",
                    expiry="2020-01-31",
                    to_slot="A-08",
                )
            ]
        )
        keeper.close()


def written_off(db: Path) -> list[tuple[str, str, str, int, str]]:
    with sqlite3.connect(db) as ledger:
        rows = ledger.execute(
            "SELECT from_slot, batch, actor, quantity, reason FROM movements"
            " WHERE kind = 'write_off' ORDER BY id"
        )
        return [tuple(r) for r in rows]


def alarm_state(db: Path, alarm_id: str) -> str | None:
    with sqlite3.connect(db) as ledger:
        row = ledger.execute("SELECT state FROM alarms WHERE id = ?", (alarm_id,)).fetchone()
        return None if row is None else str(row[0])


async def rxedge(rig: Rig, *args: str) -> tuple[int, str]:
    target = [rig.broker.url if a == "" else a for a in TARGET]
    run = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "edge.cli.main",
        *args,
        *target,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(run.communicate(), 30)
    assert run.returncode is not None
    return run.returncode, out.decode()


async def test_an_expired_tagged_pack_taken_off_a_watched_slot_is_written_off(
    tmp_path: Path, broker: LocalBroker
) -> None:
    rig = ExpiredTagRig(tmp_path, broker)
    # Gone for the mistake's time, not a read dropped for a moment: written off.
    await rig.start(
        picking={"remind_after_seconds": 30, "timeout_seconds": 60, "mistake_seconds": 1}
    )
    try:
        assert rig.gateway is not None
        rig.reader.place(1, EXPIRED_TAG)
        alarm_id = f"expired-{tagged_pack(EXPIRED_TAG).gtin}_GONE"
        await eventually(lambda: alarm_state(rig.db, alarm_id) == "raised", what="its alarm")
        await eventually(lambda: rig.shows("A-08", HELD_LIGHT), what="A-08 blinking red")
        rounds = rig.gateway.counters["rounds"]
        await eventually(lambda: rig.gateway.counters["rounds"] > rounds + 3, what="tag seen")

        rig.reader.remove(EXPIRED_TAG)  # the pharmacist takes it off the shelf to destroy it

        await eventually(lambda: written_off(rig.db), what="the pack written off")
        assert written_off(rig.db) == [
            (
                "A-08",
                "GONE",
                "system",
                1,
                "taken off the shelf while quarantined (expired): its tag left A-08",
            )
        ]
        await eventually(lambda: alarm_state(rig.db, alarm_id) == "cleared", what="cleared")
        await eventually(lambda: rig.shows("A-08", DARK), what="A-08 dark")
        assert rig.picks() == [], "a held pack is never picked"
    finally:
        await stop_rig(rig)


async def test_expired_packs_are_written_off_by_name_from_the_command_line(
    tmp_path: Path, broker: LocalBroker
) -> None:
    rig = await start_rig(tmp_path, broker)
    try:
        alarm_id = f"expired-{AMOX}_OLD"
        await eventually(lambda: rig.shows("A-03", HELD_LIGHT), what="A-03 blinking red")

        code, said = await rxedge(rig, "write-off", AMOX, "LATE", "A-01", "--by", "Ana Ruiz")
        assert code == 1 and "are available, not quarantined" in said, said
        code, said = await rxedge(
            rig, "write-off", AMOX, "OLD", "A-03", "--quantity", "9", "--by", "Ana Ruiz"
        )
        assert code == 1 and "holds 5 quarantined pack(s)" in said, said
        assert written_off(rig.db) == []

        code, said = await rxedge(
            rig, "write-off", AMOX, "OLD", "A-03", "--by", "Ana Ruiz", "--note", "destroyed"
        )
        assert code == 0, said
        assert (
            f"5 pack(s) of GTIN {AMOX} batch OLD (expired) written off from A-03 by Ana Ruiz; "
            "0 held there still"
        ) in said
        assert written_off(rig.db) == [
            (
                "A-03",
                "OLD",
                "Ana Ruiz",
                5,
                "taken off the shelf while quarantined (expired): by hand (destroyed)",
            )
        ]
        await eventually(lambda: alarm_state(rig.db, alarm_id) == "cleared", what="cleared")
        await eventually(lambda: rig.shows("A-03", DARK), what="A-03 dark")
    finally:
        await stop_rig(rig)


async def test_an_acknowledged_unexpected_removal_ends_and_its_slot_goes_dark(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    picking = {"remind_after_seconds": 30, "timeout_seconds": 60, "mistake_seconds": 1}
    rig = await start_rig(tmp_path, broker, picking=picking)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        await two_tagged_packs_put_away(rig)
        body = {"pick_id": "rx-ur", "lines": [{"gtin": AMOX, "quantity": 1}]}
        centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(body)))
        await eventually(lambda: "accepted" in statuses(centre, "rx-ur"), what="the list open")
        rig.reader.remove(TAGGED)  # a paracetamol pack, not on the list: taken by mistake
        await eventually(lambda: rig.shows("A-08", RED), what="the mistake shown")
        alarm_id = "unexpected_removal-" + tagged_pack(TAGGED).epc.replace(":", "_").replace(
            ".", "_"
        )
        await eventually(lambda: alarm_state(rig.db, alarm_id) == "raised", what="not put back")
        await eventually(lambda: rig.shows("A-08", HELD_LIGHT), what="A-08 blinking red slowly")

        ack = {"alarm_id": alarm_id, "by": "Ana Ruiz"}  # it went to the patient: dealt with
        centre.publish(f"{PREFIX}/cmd/alarm-ack", json.dumps(with_envelope(ack)))

        await eventually(lambda: alarm_state(rig.db, alarm_id) == "cleared", what="ended")
        await eventually(lambda: rig.shows("A-08", DARK), what="A-08 dark")
    finally:
        await stop_rig(rig)
