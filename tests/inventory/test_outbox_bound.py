"""The outbox's bound: over it, event streams go first, then command answers, oldest first;
procurement requests and alarms are never dropped."""

from __future__ import annotations

from pathlib import Path

from inventory.keeper import InventoryKeeper
from inventory.ledger.outbox import MessageKind, OutboxMessage


def test_trim_drops_the_least_important_oldest_first(tmp_path: Path) -> None:
    keeper = InventoryKeeper(tmp_path / "l.sqlite", {}, "s", "g")
    kinds = [
        MessageKind.EVENT,
        MessageKind.ALARM,
        MessageKind.COMMAND_RESULT,
        MessageKind.PROCUREMENT_REQUEST,
    ] * 5
    keeper.send([OutboxMessage(kind, f'{{"n":{n}}}', key=str(n)) for n, kind in enumerate(kinds)])
    with keeper.group():
        assert keeper.outbox.trim(12) == 8  # 5 events, then 3 command answers
    left = [(row.kind, row.key) for row in keeper.pending_messages(100)]
    assert [k for k, _ in left].count(MessageKind.EVENT) == 0
    answers = [key for kind, key in left if kind is MessageKind.COMMAND_RESULT]
    assert answers == ["14", "18"], "the newest answers stay"
    assert (
        len([k for k, _ in left if k in (MessageKind.ALARM, MessageKind.PROCUREMENT_REQUEST)]) == 10
    )
    with keeper.group():
        assert keeper.outbox.trim(1) == 2  # only requests and alarms left: never dropped
    assert keeper.outbox.depth() == 10


def test_trim_never_hands_an_id_out_again(tmp_path: Path) -> None:
    keeper = InventoryKeeper(tmp_path / "l.sqlite", {}, "s", "g")
    keeper.send([OutboxMessage(MessageKind.ALARM, "{}", key="a")])
    keeper.send([OutboxMessage(MessageKind.EVENT, f'{{"n":{n}}}') for n in range(3)])
    [*_, newest] = keeper.pending_messages(100)
    with keeper.group():
        assert keeper.outbox.trim(1) == 2, "the newest event stays"
    keeper.send([OutboxMessage(MessageKind.ALARM, "{}", key="b")])
    after = keeper.pending_messages(100)
    assert [row.id for row in after][-1] > newest.id
    assert [row.key for row in after] == ["a", "", "b"]
