"""What the pharmacist and the centre are told after a count, by the real `rxedge` on a real
ledger: a slot whose location tag was read only from the next slot is not counted, in the page's
words; untagged packs, which no sweep counts, are in no EPCIS event; a count the gateway stopped
during says it was abandoned, when and why, with no figures; and an end typed after the count
ended by itself names that count and its report."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from edge.demo.local_broker import LocalBroker
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from inventory.site_calendar import SiteCalendar
from inventory.stocktake.sweep import Sweep
from tests.command_line import rxedge
from tests.conftest import Subscriber, eventually
from tests.edge.procurement_rig import CliRun
from tests.edge.test_stocktake_sweep import (
    PREFIX,
    answers,
    location,
    pack,
    running_daemon,
    tag,
)

SLOTS = ["A-01", "A-02", "A-03", "A-04"]
GTIN = pack(1).gtin
SHANGHAI = ZoneInfo("Asia/Shanghai")


def loc(slot: str) -> str:
    return f"urn:epc:id:sgln:4012345.00001.{int(slot[-2:])}"


def counted_ledger(db: Path) -> None:
    """Shelf A: tagged packs 1 in A-01, 2 in A-02, 3 in A-04, and five barcode-only packs of
    LOT1 in A-03. The handheld passes A-01, A-03 and A-04; at A-01 and at A-03 it also reads
    A-02's location tag, faintly (the field reaching the next slot): it never was at A-02."""
    at = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    keeper = InventoryKeeper(db, {}, "s1", "g1", SiteCalendar(UTC, lambda: at))
    for n, slot in ((1, "A-01"), (2, "A-02"), (3, "A-04")):
        keeper.put_away(pack(n), slot)
    five = Movement(
        MovementKind.RECEIVE, GTIN, 5, batch="LOT1", expiry="2028-01-31", to_slot="A-03"
    )
    keeper.commit([five])
    sweep = Sweep("st-1", "A", SLOTS, "Ana", {slot: loc(slot) for slot in SLOTS})
    for here, packs in (("A-01", [1]), ("A-03", []), ("A-04", [3])):
        sweep.location(here, loc(here), rssi=-40)
        if here != "A-04":
            sweep.location("A-02", loc("A-02"), rssi=-70)
        for n in packs:
            sweep.pack(pack(n), rssi=-45)
        sweep.round_done()
    keeper.stocktakes.finish(sweep)
    keeper.close()


def test_a_slot_read_only_from_the_next_one_is_not_counted_in_the_pages_words(
    tmp_path: Path,
) -> None:
    db = tmp_path / "ledger.sqlite"
    counted_ledger(db)
    shown = rxedge("stocktake", "report", "st-1", "--db", str(db))
    assert shown.returncode == 0, shown.stderr
    rows = {line.split()[0]: line for line in shown.stdout.splitlines() if line.startswith("A-")}
    assert rows["A-02"].endswith(
        "not counted: the sweep did not pass it (its location tag unread, or read only from "
        "the next slot)"
    ), rows["A-02"]
    assert rows["A-03"].endswith("5 untagged pack(s) not counted"), rows["A-03"]


def test_untagged_packs_are_in_no_epcis_event_of_the_count(tmp_path: Path) -> None:
    """An OBSERVE cycle_counting event says what the count observed: A-03's five barcode-only
    packs were not (the ledger's figure for them is no observation), so no event names A-03."""
    db = tmp_path / "ledger.sqlite"
    counted_ledger(db)
    exported = rxedge("stocktake", "report", "st-1", "--epcis", "--db", str(db))
    assert exported.returncode == 0, exported.stderr
    events = json.loads(exported.stdout)["epcisBody"]["eventList"]
    assert {e["readPoint"]["id"]: e.get("epcList") for e in events} == {
        loc("A-01"): [pack(1).epc],
        loc("A-04"): [pack(3).epc],
    }
    assert not any("quantityList" in e for e in events)
    kept = json.loads(rxedge("stocktake", "report", "st-1", "--json", "--db", str(db)).stdout)
    assert kept["untagged_by_slot"] == {"A-03": [[GTIN, "LOT1", 5]]}, "the ledger's figure stays"


def test_a_count_the_gateway_stopped_during_reports_it_was_abandoned_when_and_why(
    tmp_path: Path,
) -> None:
    db = tmp_path / "ledger.sqlite"
    began = datetime(2026, 12, 6, 19, 30, tzinfo=UTC)
    keeper = InventoryKeeper(db, {}, "s1", "g1", SiteCalendar(SHANGHAI, lambda: began))
    keeper.put_away(pack(1), "A-01")
    keeper.stocktakes.started(Sweep("st-1", "A", SLOTS, "Ana"))
    keeper.close()  # the power cut, mid-sweep
    restarted = datetime(2026, 12, 6, 19, 37, tzinfo=UTC)  # 03:37 the next day in Shanghai
    InventoryKeeper(db, {}, "s1", "g1", SiteCalendar(SHANGHAI, lambda: restarted)).close()
    shown = rxedge("stocktake", "report", "--db", str(db))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == [
        "stocktake st-1 of shelf A by Ana (abandoned), abandoned 2026-12-07 03:37 +08:00",
        "not counted: the sweep was abandoned: the gateway stopped during the sweep (what it "
        "read was lost): sweep the shelf again",
    ]
    kept = json.loads(rxedge("stocktake", "report", "--json", "--db", str(db)).stdout)
    assert kept["state"] == "abandoned" and "gateway stopped" in kept["abandoned"]


async def test_an_end_typed_after_the_count_ended_by_itself_names_that_count(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    centre = subscribe(f"{PREFIX}/cmd-result")
    quiet = {"stocktake": {"idle_end_seconds": 1}}
    async with running_daemon(tmp_path, broker, quiet) as (_, handheld, _):
        await handheld.sweep([[location(1), tag(1), tag(2)], [location(2), tag(3)]], dwell=0.3)
        [ended] = await eventually(lambda: answers(centre, "ended"), what="the quiet end")
        sid = str(ended["stocktake_id"])
        target = ["--broker", broker.url, "--site", "s1", "--gateway", "g1"]
        late = await CliRun.start("stocktake", "end", *target)
        assert await late.finish(timeout=20) == 1, late.errors
    [said] = late.lines
    assert said.startswith(
        f"error: no stocktake is running; the last, {sid} of shelf A, ended by itself at "
    ), said
    assert said.endswith(f": see its report, rxedge stocktake report {sid}"), said
