"""Fixtures of the pick desk's tests (tests/inventory/pick_shelves.py): a test file that needs
other shelves, or another clock, defines its own `keeper` or `clock`, which wins over these."""

from __future__ import annotations

from pathlib import Path

import pytest

from inventory.keeper import InventoryKeeper
from tests.inventory.pick_shelves import Clock, stocked_keeper


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def keeper(tmp_path: Path, clock: Clock) -> InventoryKeeper:
    """A keeper on the stocked shelves of the pick desk's tests, on `clock`."""
    return stocked_keeper(tmp_path / "l.sqlite", clock)
