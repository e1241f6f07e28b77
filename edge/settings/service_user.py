"""The user and group this process runs as (under the service, the daemon's), named in the fix
of a file it cannot read or write. Part of edge.settings."""

from __future__ import annotations

import grp
import os
import pwd
from pathlib import Path


def process_user() -> tuple[str, str]:
    """(user, group) of this process, by name."""
    return pwd.getpwuid(os.geteuid()).pw_name, grp.getgrgid(os.getegid()).gr_name


def unreadable_problem(path: Path) -> str:
    """What to say of a configuration file at `path` this process was denied reading: the
    group to give it, as the installation sets it up (root:rxedge 0640)."""
    user, group = process_user()
    return (
        f"cannot be read by user {user} (permission denied); if {user} runs the daemon, let "
        f"its group read the file, as root: chgrp {group} {path}; chmod 0640 {path}"
    )
