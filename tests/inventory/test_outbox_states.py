"""Alarm messages carry their alarm's whole state (retained at the broker): once the broker has
acknowledged one, the older ones of the same alarm still waiting are dropped unsent, in the
same transaction; messages of every other kind wait until they are sent."""

from __future__ import annotations

from pathlib import Path

from inventory.keeper import InventoryKeeper
from inventory.ledger.outbox import MessageKind, OutboxMessage


def keeper_with(tmp_path: Path, *messages: tuple[MessageKind, str]) -> InventoryKeeper:
    """A ledger whose outbox holds `messages` (kind, key), ids from 1 in that order."""
    keeper = InventoryKeeper(tmp_path / "l.sqlite", {}, "s", "g")
    keeper.send(
        [OutboxMessage(kind, f'{{"n":{n}}}', key) for n, (kind, key) in enumerate(messages)]
    )
    return keeper


def waiting(keeper: InventoryKeeper) -> list[int]:
    return [row.id for row in keeper.pending_messages(100)]


def test_an_acknowledged_state_drops_the_older_ones_of_its_alarm_still_waiting(
    tmp_path: Path,
) -> None:
    keeper = keeper_with(
        tmp_path,
        (MessageKind.ALARM, "shortage-a"),  # 1: refused earlier
        (MessageKind.EVENT, "shortage-a"),  # 2: the same key, another kind
        (MessageKind.ALARM, "shortage-b"),  # 3: another alarm
        (MessageKind.ALARM, "shortage-a"),  # 4: refused earlier too
        (MessageKind.ALARM, "shortage-a"),  # 5: the broker takes this one
        (MessageKind.ALARM, "shortage-a"),  # 6: newer still, not sent yet
    )
    superseded = keeper.mark_sent([5])
    assert [(row.id, row.kind, row.key) for row in superseded] == [
        (1, MessageKind.ALARM, "shortage-a"),
        (4, MessageKind.ALARM, "shortage-a"),
    ]
    assert waiting(keeper) == [2, 3, 6]
    assert keeper.mark_sent([6]) == []
    assert waiting(keeper) == [2, 3]
    keeper.close()


def test_the_newest_acknowledged_state_of_a_batch_counts(tmp_path: Path) -> None:
    keeper = keeper_with(
        tmp_path,
        (MessageKind.ALARM, "device_down-r1"),  # 1: refused
        (MessageKind.ALARM, "device_down-r1"),  # 2: taken
        (MessageKind.ALARM, "device_down-r1"),  # 3: refused
        (MessageKind.ALARM, "device_down-r1"),  # 4: taken
    )
    assert [row.id for row in keeper.mark_sent([2, 4])] == [1, 3]
    assert waiting(keeper) == []
    keeper.close()


def test_messages_of_other_kinds_wait_until_they_are_sent(tmp_path: Path) -> None:
    others = [k for k in MessageKind if k is not MessageKind.ALARM]
    keeper = keeper_with(tmp_path, *[(kind, "same") for kind in others * 2])
    newer = list(range(len(others) + 1, 2 * len(others) + 1))
    assert keeper.mark_sent(newer) == []
    assert waiting(keeper) == list(range(1, len(others) + 1))
    keeper.close()
