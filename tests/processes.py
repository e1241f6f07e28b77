"""Processes by name, read from /proc (what `pgrep -x` answers, without needing procps)."""

from __future__ import annotations

from pathlib import Path


def pids_named(name: str) -> list[int]:
    """The ids of the running processes whose command name is exactly `name`."""
    found = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == name:
                found.append(int(comm.parent.name))
        except OSError:
            continue  # it ended while we looked
    return sorted(found)
