"""A press on a slot of tagged packs that a fixed reader watches books the pack the picker
took: the one the reader stopped seeing, not the first of the slot by serial; pressed after the
reader booked that pack, it confirms the pick and books no other pack."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from drivers.modbus.lights import DARK, SlotLight
from drivers.modbus.profile import Colour, Mode
from edge.demo.local_broker import LocalBroker
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.pick_rig import (
    AMOX,
    OTHER_PACK,
    PREFIX,
    RED,
    TAGGED,
    epcs_on_shelf,
    picked_epcs,
    results,
    start_rig,
    statuses,
    stop_rig,
    tagged_pack,
    two_tagged_packs_put_away,
)


async def test_a_press_books_the_tagged_pack_the_reader_no_longer_sees(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    rig = await start_rig(tmp_path, broker)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        await two_tagged_packs_put_away(rig)
        pack = tagged_pack(TAGGED)
        for body in (
            {"pick_id": "rx-p", "lines": [{"gtin": pack.gtin, "quantity": 1}]},
            {"pick_id": "rx-o", "lines": [{"gtin": AMOX, "quantity": 1}]},  # another picker
        ):
            centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(body)))
        green = SlotLight(True, Colour.GREEN, Mode.STEADY, 1)
        await eventually(lambda: rig.shows("A-08", green), what="A-08 lit for rx-p")
        assert rig.gateway is not None
        counters = rig.gateway.counters
        rig.reader.remove(TAGGED)  # the picker takes serial 9 and presses the button
        rounds = counters["rounds"]
        await eventually(lambda: counters["rounds"] >= rounds + 3, what="rounds without it")
        await rig.press("A-08")
        await eventually(lambda: "done" in statuses(centre, "rx-p"), what="rx-p done")
        await eventually(lambda: rig.shows("A-08", DARK))
        assert picked_epcs(rig.db) == [pack.epc], "the press booked a pack still on the shelf"
        assert epcs_on_shelf(rig.db) == [tagged_pack(OTHER_PACK).epc]
        assert await rig.light("A-08") != RED
        assert not [r for r in results(centre, "rx-o") if r["status"] == "mistake"]
    finally:
        await stop_rig(rig)


async def test_a_press_after_the_reader_booked_the_pack_confirms_it_and_books_no_other(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    """The picker takes a pack and presses only once the reader has booked it (the dwell
    time passed): the press is for the pack in hand, so the list still wants its second
    pack and the one left on the shelf stays on the ledger's shelf."""
    rig = await start_rig(tmp_path, broker)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        await two_tagged_packs_put_away(rig)
        pack, other = tagged_pack(TAGGED), tagged_pack(OTHER_PACK)
        body = {"pick_id": "rx-2", "lines": [{"gtin": pack.gtin, "quantity": 2}]}
        centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(body)))
        one, two = (SlotLight(True, Colour.GREEN, Mode.STEADY, n) for n in (1, 2))
        await eventually(lambda: rig.shows("A-08", two), what="A-08 lit for two")
        rig.reader.remove(TAGGED)
        await eventually(lambda: picked_epcs(rig.db) == [pack.epc], what="booked by the reader")
        await eventually(lambda: rig.shows("A-08", one), what="one more to take")

        said_before = len(rig.activity)
        await rig.press("A-08")  # for the pack in hand
        await eventually(
            lambda: [
                a for a in rig.activity[said_before:] if "A-08" in a.text and a.kind == "note"
            ],
            what="the press taken",
        )
        assert picked_epcs(rig.db) == [pack.epc], "the press booked a pack still on the shelf"
        assert epcs_on_shelf(rig.db) == [other.epc]
        assert "done" not in statuses(centre, "rx-2")
        assert await rig.shows("A-08", one)

        rig.reader.remove(OTHER_PACK)  # the second pack, taken: the list is done
        await eventually(lambda: "done" in statuses(centre, "rx-2"), what="rx-2 done")
        assert picked_epcs(rig.db) == [pack.epc, other.epc]
    finally:
        await stop_rig(rig)
