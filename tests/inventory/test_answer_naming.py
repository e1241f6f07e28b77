"""The answers a command message draws name it (`reply_to`), and only those: a list of which
nothing could be allocated is done at once, an answer to its message; what the command leads
to for other things (a list a recall leaves with nothing to pick, ended) answers no message,
so nobody waiting for the answer to their own command about that list takes it."""

from __future__ import annotations

import json
from pathlib import Path

from inventory.apply import apply
from inventory.changes import Answering, Recall
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from inventory.picking.lists import PickLine, PickRequest

AMOX = "04012345123456"


def answers(keeper: InventoryKeeper) -> list[dict[str, object]]:
    rows = keeper.db.execute(
        "SELECT payload FROM outbox WHERE kind = 'command_result' ORDER BY id"
    ).fetchall()
    return [json.loads(r[0]) for r in rows]


def test_a_recall_names_its_message_on_its_answer_and_not_on_the_list_it_ends(
    tmp_path: Path,
) -> None:
    keeper = InventoryKeeper(tmp_path / "l.sqlite", {}, "s", "g")
    keeper.commit(
        [Movement(MovementKind.PUT_AWAY, AMOX, 3, batch="LATE", expiry="2030-12-31", to_slot="A-1")]
    )
    apply(keeper, PickRequest("rx-1", (PickLine(AMOX, 3, batch="LATE"),)))
    recall = Recall(AMOX, "LATE", "supplier notice", "Ana")
    apply(keeper, Answering("msg-recall-1", "recall", AMOX, recall))
    said = [
        (a["command"], a["command_id"], a["status"], a.get("reply_to")) for a in answers(keeper)
    ]
    assert said == [
        ("pick", "rx-1", "accepted", None),
        ("recall", f"{AMOX}/LATE", "recalled", "msg-recall-1"),
        ("pick", "rx-1", "done", None),  # nothing left to pick: ended by the recall
    ]
    keeper.close()


def test_a_list_done_at_once_names_its_message_on_its_done_as_on_its_accepted(
    tmp_path: Path,
) -> None:
    """Nothing of it could be allocated: the list ends while its message is carried out, so
    `done` is an answer the message drew (docs/mqtt.md), like `accepted`."""
    keeper = InventoryKeeper(tmp_path / "l.sqlite", {}, "s", "g")
    request = PickRequest("rx-0", (PickLine(AMOX, 2),))  # the shelves hold none
    apply(keeper, Answering("msg-pick-0", "pick", "rx-0", request))
    said = [(a["status"], a.get("reply_to")) for a in answers(keeper)]
    assert said == [("accepted", "msg-pick-0"), ("done", "msg-pick-0")]
    keeper.close()
