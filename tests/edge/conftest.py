"""Fixtures of the tests that meet the ledger's files as another user would."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def place() -> Iterator[Path]:
    """A folder every user may enter (pytest's own tmp_path is closed to others)."""
    folder = Path(tempfile.mkdtemp(prefix="rxedge-access-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)
