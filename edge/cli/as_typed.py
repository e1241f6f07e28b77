"""How a person types `rxedge` on this machine, for the commands a hint tells them to run."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def rxedge_as_typed(program: str | None = None) -> str:
    """How to type `rxedge` to run it again: as this run was started (`program`, by default
    this process's: `.venv/bin/rxedge` by `make demo`, `rxedge` when PATH finds it), else
    (`python -m`) as the README types it."""
    path = Path(program or sys.argv[0])
    if path.name != "rxedge":
        return ".venv/bin/rxedge"
    found = shutil.which("rxedge")
    if found and Path(found).resolve() == path.resolve():
        return "rxedge"
    if path.is_absolute() and path.is_relative_to(Path.cwd()):
        return str(path.relative_to(Path.cwd()))
    return str(path)
