"""Held packs found by a count on the running daemon (mosquitto, a pty GS1 scanner at goods-in,
a pty Chafon handheld, the pty R2000 reader watching A-03 and A-04, the Modbus shelf
simulator): a pack refused at goods-in and laid where no reader watches is held where the count
finds it, with its `refused_pack` alarm; a held pack a count missed, booked out, is held again
when the next count finds it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from edge.demo.local_broker import LocalBroker
from firmware_sim.chafon_sim import ChafonSimulator
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind, StockStatus
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.putaway_rig import PARA, PREFIX, PutawayRig, code, para_tag
from tests.edge.shelf_rig import Peer
from tests.edge.test_stocktake_sweep import answers, location


class CountRig(PutawayRig):
    """The put-to-light rig with a handheld for stocktakes; pack 5 of paracetamol (a refused
    delivery held back) lies quarantined in A-06, which no reader watches."""

    def __init__(self, tmp_path: Path, broker: LocalBroker):
        super().__init__(tmp_path, broker)
        self.handheld = ChafonSimulator(link=tmp_path / "handheld", scan_time=0.01)

    def stock(self) -> None:
        super().stock()
        keeper = InventoryKeeper(self.db, {}, "s1", "g1")
        epc = "urn:epc:id:sgtin:4012345.000002.5"
        put = Movement(MovementKind.PUT_AWAY, PARA, 1, "5", epc, "SHORT", "2031-01-31")
        keeper.commit([replace(put, to_slot="A-06", to_status=StockStatus.QUARANTINED)])
        keeper.close()

    def devices(self) -> Sequence[Peer]:
        return (*super().devices(), self.handheld)

    def config(self, **overrides: Any) -> dict[str, object]:
        config = super().config(**overrides)
        hand = {"name": "hh", "protocol": "chafon", "role": "handheld", "port": self.handheld.port}
        config["readers"] = [*config["readers"], hand]  # type: ignore[misc]
        shelf = {"name": "A", "host": "127.0.0.1", "port": self.shelf.port, "slots": 8}
        config["shelves"] = [{**shelf, "gln": "4012345000016"}]  # its slots' location tags
        return config


def on_shelf(db: Path, serial: str) -> tuple[str, str, str, str | None] | None:
    """Where the paracetamol pack with `serial` lies: slot, status, batch, expiry."""
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT slot, status, batch, expiry FROM stock WHERE gtin = ? AND serial = ?",
            (PARA, serial),
        ).fetchone()
    return None if row is None else tuple(row)


async def count(centre: Subscriber, rig: CountRig, groups: list[list[bytes]]) -> dict[str, Any]:
    """One count of shelf A along `groups` (a slot's location tag, then its packs), confirmed
    by Bea: the answer."""
    before = len(answers(centre, "started"))
    start = with_envelope({"shelf": "A", "by": "Ana"})
    centre.publish(f"{PREFIX}/cmd/stocktake-start", json.dumps(start))
    started = await eventually(lambda: answers(centre, "started")[before:], what="started")
    sid = str(started[0]["stocktake_id"])
    await rig.handheld.sweep(groups, dwell=0.3)
    centre.publish(f"{PREFIX}/cmd/stocktake-end", json.dumps(with_envelope({"stocktake_id": sid})))
    await eventually(
        lambda: any(r["stocktake_id"] == sid for r in answers(centre, "ended")), what="report"
    )
    confirm = with_envelope({"stocktake_id": sid, "by": "Bea"})
    centre.publish(f"{PREFIX}/cmd/stocktake-confirm", json.dumps(confirm))
    [confirmed] = await eventually(
        lambda: [r for r in answers(centre, "confirmed") if r["stocktake_id"] == sid],
        what="confirmed",
    )
    return confirmed


async def test_a_count_holds_a_refused_pack_where_it_lies_and_a_held_pack_it_booked_out(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    rig = CountRig(tmp_path, broker)
    await rig.start()
    try:
        centre = subscribe(f"{PREFIX}/cmd-result", f"{PREFIX}/alarms/+")
        rig.scanner.scan(code(PARA, "P9", -3, serial="41"))  # expired three days ago
        await eventually(
            lambda: any(r.get("reason") == "expired" for r in centre.payloads("/cmd-result")),
            what="refused at the desk",
        )
        # Pack 41 laid in A-05 all the same (no reader there); pack 5's tag does not answer.
        first = await count(
            centre, rig, [[location(5), para_tag(41)], [location(6)], [location(7)]]
        )
        assert first["adjustments"] == 2
        refused = on_shelf(rig.db, "41")
        assert refused is not None
        assert refused[:3] == ("A-05", "quarantined", "P9"), f"not held: {refused}"
        assert refused[3] is not None, "booked with no expiry: the expiry sweep never sees it"
        [alarm] = await eventually(
            lambda: [
                a
                for a in (
                    json.loads(m.payload)
                    for m in centre.drain()
                    if "/alarms/" in m.topic and m.payload
                )
                if a.get("kind") == "refused_pack" and a["detail"].get("on_shelf")
            ],
            what="the refused_pack alarm naming the slot",
        )
        assert on_shelf(rig.db, "5") is None, "the count booked out the pack it missed"

        second = await count(centre, rig, [[location(5), para_tag(41)], [location(6), para_tag(5)]])
        assert second["adjustments"] == 1
        held = on_shelf(rig.db, "5")
    finally:
        await rig.stop()
    assert (alarm["detail"]["slot"], alarm["detail"]["serial"]) == ("A-05", "41")
    assert held == ("A-06", "quarantined", "SHORT", "2031-01-31"), "a held pack pickable again"
