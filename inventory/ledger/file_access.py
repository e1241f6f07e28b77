"""The ledger's files as this machine's user finds them: how a file is opened for reading where
that user cannot write (a backup on read-only media, a USB stick, another user's folder), and
why SQLite could not open them (permissions, a folder it cannot write in), which says nothing
about the file's content.

A ledger is a WAL-mode file: SQLite reads it through an -shm file beside it, which it creates
if there is none. Where it cannot create one, it can still read the file alone, as immutable,
when no program has it open to write (a writer keeps an -shm beside it) and no -wal beside it
holds changes not yet in the file (those it would not see).
"""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path
from urllib.parse import quote


def beside(path: Path) -> tuple[Path, Path]:
    """The -wal and -shm files of the ledger at `path`."""
    return path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


def readonly_uri(path: Path, lasting: bool = False) -> str:
    """The SQLite URI that opens the ledger at `path` for reading only: as immutable where this
    user cannot write its folder, no writer has the file open and no -wal holds changes not yet
    in it (`_read_alone`); never for a `lasting` connection (the page's), kept to see what a
    writer started later writes."""
    uri = f"file:{quote(str(path))}?mode=ro"
    if not lasting and _read_alone(path):
        uri += "&immutable=1"
    return uri


def seen_alone(path: Path) -> tuple[int, int, int] | None:
    """The ledger at `path` as a read of it as immutable sees it (`readonly_uri`): its file's
    inode, size and time of change; None when it is not read so here. Such a read takes no
    lock, so a writer that starts meanwhile (the daemon) can change the file under it: a
    different answer after the read than before says the read may have seen half-written
    pages."""
    try:
        found = path.stat()
    except OSError:  # not there: nothing is read
        return None
    if not _read_alone(path):
        return None
    return (found.st_ino, found.st_size, found.st_mtime_ns)


def access_problem(path: Path) -> str | None:
    """Why SQLite cannot open the ledger at `path` here, when it is not the file's content: a
    directory, a file of it this user may not read, changes in its -wal that cannot be read
    without an -shm this user cannot create; None if none of these."""
    user = user_name()
    if path.is_dir():
        return f"{path} is a directory; give the ledger file in it"
    for file in (path, *beside(path)):
        if file.exists() and not os.access(file, os.R_OK):
            owner = _owner(file)
            return (
                f"ledger {path} cannot be opened: user {user} may not read {file} (it belongs "
                f"to {owner}, mode {stat.filemode(file.stat().st_mode)}); the file is not "
                f"damaged: ask as a user who may read it (runuser -u {owner.split(':')[0]} -- "
                "rxedge ...), or let that user's group read the ledger's files"
            )
    wal, shm = beside(path)
    if not _writable(path.parent) and not shm.exists() and _pending(wal):
        return (
            f"ledger {path} cannot be read here: {wal.name} beside it holds changes not yet in "
            f"the file, which SQLite reads only through a {shm.name} file, and user {user} "
            f"cannot create one in {path.parent}{_read_only_note(path.parent)}; the file is "
            f"not damaged: copy it with its -wal file to a folder you can write (cp {path} "
            f"{wal} FOLDER/) and ask of the copy there"
        )
    return None


def user_name() -> str:
    """The name of the user this process runs as (its number if it has none)."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def _read_alone(path: Path) -> bool:
    """Whether the ledger at `path` is read as immutable here: this user cannot write its
    folder, no writer has it open (a writer keeps an -shm beside it) and no -wal beside it
    holds changes not yet in it."""
    wal, shm = beside(path)
    return not _writable(path.parent) and not shm.exists() and not _pending(wal)


def _writable(folder: Path) -> bool:
    """Whether this user may create files in `folder` (False too on a read-only file system,
    whoever owns it)."""
    return os.access(folder, os.W_OK | os.X_OK)


def _pending(wal: Path) -> bool:
    """Whether a -wal file is there with something in it."""
    try:
        return wal.stat().st_size > 0
    except FileNotFoundError:
        return False


def _owner(file: Path) -> str:
    try:
        return f"{file.owner()}:{file.group()}"
    except KeyError:
        found = file.stat()
        return f"{found.st_uid}:{found.st_gid}"


def _read_only_note(folder: Path) -> str:
    try:
        read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return ""
    return " (a read-only file system)" if read_only else ""
