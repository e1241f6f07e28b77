"""Held packs taken off the shelf are written off, never picked: a quarantined tagged pack
leaving a watched slot (with no pick list open and not seen back in time, or taken by mistake
during one and not put back), and packs a person says they took away (`WriteOff`, for
untagged packs and slots no reader watches). The batch's expired alarm follows them and ends
with its last pack; a pack written off and brought back is held again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.lights.light_plan import plan_lights
from inventory.alarms.lifecycle import AlarmKind
from inventory.apply import apply
from inventory.changes import Arrived, ExpirySweep, Left, PickTick, WriteOff
from inventory.errors import StockError
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from inventory.picking.lists import PickLine, PickRequest
from inventory.picking.outcome import Outcome
from sync.contract import validate
from tests.inventory.pick_shelves import (
    AMOX,
    IBU,
    TIMES,
    Clock,
    results,
    stocked_keeper,
    tagged,
)

OLD = f"{AMOX.gtin}/OLD"  # the expired batch in A-03 (5 counted packs)


@pytest.fixture
def keeper(tmp_path: Path, clock: Clock) -> InventoryKeeper:
    k = stocked_keeper(tmp_path / "l.sqlite", clock)
    pack = tagged(77)
    k.commit(
        [
            Movement(
                MovementKind.PUT_AWAY,
                AMOX.gtin,
                serial="77",
                epc=pack.epc,
                batch="GONE",
                expiry="2026-11-01",
                to_slot="B-05",
            )
        ]
    )
    apply(k, ExpirySweep(30))  # OLD and GONE expired: held where they lie
    return k


def written_off(keeper: InventoryKeeper) -> list[tuple[str, int, str, str, str]]:
    rows = keeper.db.execute(
        "SELECT from_slot, quantity, batch, actor, reason FROM movements"
        " WHERE kind = 'write_off' ORDER BY id"
    )
    return [tuple(r) for r in rows]


def gone_for_good(keeper: InventoryKeeper, clock: Clock, epc: str, slot: str) -> Outcome:
    """A fixed reader stops seeing a pack and it stays gone for the mistake's time."""
    apply(keeper, Left(epc, slot))
    clock.advance(TIMES.mistake_seconds)
    return apply(keeper, PickTick())


def test_a_quarantined_tagged_pack_leaving_a_watched_slot_is_written_off(
    keeper: InventoryKeeper, clock: Clock
) -> None:
    gone = f"{AMOX.gtin}/GONE"
    assert keeper.alarms.get(AlarmKind.EXPIRED, gone) is not None
    assert "B-05" in plan_lights(keeper.alarms.live(), keeper.index)

    apply(keeper, Left(tagged(77).epc, "B-05"))
    clock.advance(TIMES.mistake_seconds - 1)
    assert apply(keeper, PickTick()).commits == [] and written_off(keeper) == []
    clock.advance(1)
    out = apply(keeper, PickTick())

    assert written_off(keeper) == [
        (
            "B-05",
            1,
            "GONE",
            "system",
            "taken off the shelf while quarantined (expired): its tag left B-05",
        )
    ]
    assert keeper.line_of_epc(tagged(77).epc) is None and out.booked_epcs == [tagged(77).epc]
    assert keeper.alarms.get(AlarmKind.EXPIRED, gone) is None, "its last pack has left"
    assert "B-05" not in plan_lights(keeper.alarms.live(), keeper.index)


def test_a_recalled_tagged_pack_leaving_says_it_was_recalled(
    keeper: InventoryKeeper, clock: Clock
) -> None:
    pack = tagged(78)
    keeper.put_away(pack, "B-06")
    keeper.commit([keeper.index.contents("B-06")[0].held("system", "recall: test")])
    keeper.picks.recalled.add((AMOX.gtin, ""))
    gone_for_good(keeper, clock, pack.epc, "B-06")
    [(_, _, _, _, reason)] = written_off(keeper)
    assert reason == "taken off the shelf while quarantined (recalled): its tag left B-06"


def test_an_expired_pack_taken_while_a_list_is_open_is_written_off_and_the_beat_goes_on(
    keeper: InventoryKeeper, clock: Clock
) -> None:
    """Not put back when its mistake's time runs out: written off (it was never to be handed
    out) with the unexpected-removal alarm; the same beat also reminds the idle list."""
    keeper.picks.start(PickRequest("rx-9", (PickLine(AMOX.gtin, 1),)))
    out = apply(keeper, Left(tagged(77).epc, "B-05"))
    assert [(m.reason, m.slot) for m in out.mistakes] == [("expired", "B-05")]
    assert written_off(keeper) == [], "held as on the shelf while the mistake is shown"

    clock.advance(TIMES.remind_after_seconds + 1)
    out = apply(keeper, PickTick())

    assert [r["status"] for r in results(keeper, "rx-9")][-1] == "reminder"
    [(slot, quantity, batch, actor, reason)] = written_off(keeper)
    assert (slot, quantity, batch, actor) == ("B-05", 1, "GONE", "system")
    assert reason == (
        "taken off the shelf while quarantined (expired): "
        "taken at the shelf by mistake (expired) and not put back"
    )
    removal = keeper.alarms.get(AlarmKind.UNEXPECTED_REMOVAL, tagged(77).epc)
    assert removal is not None and removal.detail["gtin"] == AMOX.gtin
    assert removal.detail["slot"] == "B-05" and removal.detail["batch"] == "GONE"
    assert keeper.alarms.get(AlarmKind.EXPIRED, f"{AMOX.gtin}/GONE") is None
    assert out.refusals == []


def test_a_removal_the_ledger_refuses_does_not_swallow_the_rest_of_the_beat(
    keeper: InventoryKeeper, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tagged(79, IBU)
    keeper.put_away(other, "B-07")
    keeper.picks.start(PickRequest("rx-10", (PickLine(AMOX.gtin, 1),)))
    apply(keeper, Left(tagged(77).epc, "B-05"))
    apply(keeper, Left(other.epc, "B-07"))  # not on the list either: a second mistake
    commit = keeper.commit

    def refuse_b05(movements: object, messages: object = ()) -> object:
        moved = list(movements)  # type: ignore[call-overload]
        if any(m.from_slot == "B-05" and m.to_slot is None for m in moved):
            raise StockError("refused for the test")
        return commit(moved, messages)  # type: ignore[arg-type]

    monkeypatch.setattr(keeper, "commit", refuse_b05)
    clock.advance(TIMES.remind_after_seconds + 1)
    out = apply(keeper, PickTick())

    assert out.refusals == [
        f"{tagged(77).epc} not put back in B-05, not booked: refused for the test"
    ]
    assert keeper.line_of_epc(other.epc) is None, "the other pack is booked out"
    assert keeper.alarms.get(AlarmKind.UNEXPECTED_REMOVAL, other.epc) is not None
    assert [r["status"] for r in results(keeper, "rx-10")][-1] == "reminder"


def test_packs_written_off_by_hand_are_only_quarantined_ones(keeper: InventoryKeeper) -> None:
    expired = keeper.alarms.get(AlarmKind.EXPIRED, OLD)
    assert expired is not None and expired.detail["quantity"] == 5

    apply(keeper, WriteOff(AMOX.gtin, "OLD", "A-03", 2, "Ana Ruiz", "destroyed"))

    assert written_off(keeper) == [
        (
            "A-03",
            2,
            "OLD",
            "Ana Ruiz",
            "taken off the shelf while quarantined (expired): by hand (destroyed)",
        )
    ]
    [answer] = results(keeper, OLD)
    assert validate("cmd-result", answer) == []
    assert {k: answer[k] for k in ("status", "slot", "quantity", "left", "why", "by")} == {
        "status": "written_off",
        "slot": "A-03",
        "quantity": 2,
        "left": 3,
        "why": "expired",
        "by": "Ana Ruiz",
    }
    expired = keeper.alarms.get(AlarmKind.EXPIRED, OLD)
    assert expired is not None and expired.detail["quantity"] == 3, "it follows its packs"

    refused = [
        (WriteOff(AMOX.gtin, "LATE", "A-01", None, "Ana Ruiz"), "are available, not quarantined"),
        (WriteOff(AMOX.gtin, "OLD", "A-01", None, "Ana Ruiz"), "holds no packs of"),
        (WriteOff(AMOX.gtin, "OLD", "A-03", 4, "Ana Ruiz"), "holds 3 quarantined pack(s)"),
    ]
    before = keeper.ledger.count
    for command, said in refused:
        out = apply(keeper, command)
        answer = results(keeper, f"{AMOX.gtin}/{command.batch}")[-1]
        assert answer["status"] == "error" and said in str(answer["error"]), answer
        assert out.refusals and validate("cmd-result", answer) == []
    assert keeper.ledger.count == before, "a refusal writes no movement"

    apply(keeper, WriteOff(AMOX.gtin, "OLD", "A-03", None, "Ana Ruiz"))  # the rest
    assert [q for _, q, *_ in written_off(keeper)] == [2, 3]
    assert keeper.alarms.get(AlarmKind.EXPIRED, OLD) is None
    assert "A-03" not in plan_lights(keeper.alarms.live(), keeper.index)


def test_a_pack_written_off_and_brought_back_is_held_again_and_blinks(
    keeper: InventoryKeeper, clock: Clock
) -> None:
    gone_for_good(keeper, clock, tagged(77).epc, "B-05")
    assert keeper.alarms.get(AlarmKind.EXPIRED, f"{AMOX.gtin}/GONE") is None

    out = apply(keeper, Arrived(tagged(77), "B-05"))

    [line] = keeper.index.contents("B-05")
    assert str(line.status) == "quarantined" and line.batch == "GONE"
    assert line not in keeper.index.fefo(AMOX.gtin, keeper.calendar.today())
    expired = keeper.alarms.get(AlarmKind.EXPIRED, f"{AMOX.gtin}/GONE")
    assert expired is not None and expired.detail["slots"] == ["B-05"]
    assert any(a.kind is AlarmKind.EXPIRED for c in out.commits for a in c.alarms)
    sent = keeper.db.execute(
        "SELECT payload FROM outbox WHERE key = ? ORDER BY id DESC LIMIT 1", (expired.id,)
    ).fetchone()
    assert json.loads(sent[0])["detail"]["slots"] == ["B-05"], "the centre is told"
