"""Processes by name, read from /proc (what `pgrep -x` answers, without needing procps).

Only processes under this process's own root directory count: in a chroot that shares the
host's /proc (a first-contact check), the host's services are not ours to use or to stop."""

from __future__ import annotations

import os
from pathlib import Path


def pids_named(name: str) -> list[int]:
    """The ids of the running processes under our root whose command name is exactly `name`."""
    ours = os.stat("/")
    found = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() != name:
                continue
            root = os.stat(comm.parent / "root")
        except OSError:
            continue  # it ended while we looked, or is not ours to look at
        if (root.st_dev, root.st_ino) == (ours.st_dev, ours.st_ino):
            found.append(int(comm.parent.name))
    return sorted(found)
