"""What people did at the shelf while the ledger could not be written (confirm presses, pack
scans, packs read by a handheld while picking), kept on disk until written.

While the disk is full such an action is held in memory until the ledger takes it, and a press
is answered at once as if booked (the slot's number goes down: `edge.lights.shelf_lights`). A
power cut or a restart meanwhile would lose what a person saw taken, so each such action is
also written to a small file beside the ledger (`<ledger>.actions`) whose room is reserved when
the daemon starts: writing into room already allocated needs none of the room the disk lacks.
An action the file cannot take (its room used up, none reserved, a read-only file system) is
not held at all where the shelf can show it was not recorded (`edge.lights.not_recorded`); a
pick scan or a handheld read, which has no slot of its own, is then held in memory only.

A handheld reads a tag again and again while it is held there: a read of a tag already kept and
not yet written is kept under the same key (one line; the ledger carries out one of them).

Each action is kept under a key of its own (`<kind>:<run>:<n>`). The ledger writes a kept
action with its key remembered in the same transaction (`RememberCommand`), and skips one
whose key it remembers: at the next start every action in the file is carried out again, and
one the ledger had written before the stop is not booked twice. The file is emptied once every
action in it is written or refused.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from edge.clock import Clock
from inventory.changes import (
    Change,
    ConfirmButton,
    HandheldRead,
    PutawayScan,
    ReceivedScan,
    RememberCommand,
    ScannedAtPick,
)
from inventory.codes.barcodes import PackScan
from inventory.ledger.commit import iso

log = logging.getLogger(__name__)
RESERVED = 256 * 1024  # bytes: about 2,000 presses, 1,500 handheld reads or 1,000 scans
KEPT_FOR = timedelta(days=366)  # how long the ledger remembers a kept action's key
# The actions kept, by the name their records and keys give them.
KINDS: dict[str, type[Change]] = {
    "press": ConfirmButton,
    "pick-scan": ScannedAtPick,
    "receive-scan": ReceivedScan,
    "putaway-scan": PutawayScan,
    "handheld-read": HandheldRead,
}
_KIND_OF = {cls: kind for kind, cls in KINDS.items()}
# What becomes of an action the file cannot keep while the ledger cannot be written.
UNKEPT = "presses and desk scans are not recorded, pick scans and handheld reads held in memory"


def journal_path(database: Path) -> Path:
    """The action file of the ledger at `database`."""
    return database.with_name(database.name + ".actions")


def kept_kind(change: Change) -> bool:
    """Whether `change` is an action people take at the shelf, kept on disk while held."""
    return type(change) in _KIND_OF


class ActionJournal:
    """The file of actions held while the ledger cannot be written. `open` it at the start
    (what a previous run kept comes back, to be carried out first), `keep` each action held,
    and say when each is `done` (written or refused)."""

    def __init__(self, path: Path, clock: Clock, size: int = RESERVED):
        self.path = path
        self._clock = clock
        self._size = size
        self._fd: int | None = None
        self._room = False  # the file's room is reserved
        self._end = 0  # bytes used
        self._run = uuid.uuid4().hex[:12]
        self._count = 0
        self._pending: set[str] = set()  # keys kept and not yet done
        self._reads: dict[Change, RememberCommand] = {}  # handheld reads kept, by the read
        self._told_full = False

    def open(self) -> list[RememberCommand]:
        """Open the file and reserve its room; the actions in it, oldest first. A file that
        cannot be opened or reserved is logged, and actions cannot be kept in it then."""
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o640)
        except OSError as exc:
            log.error(
                "actions held through a full disk cannot be kept in %s: %s (while the ledger "
                "cannot be written, %s)",
                self.path,
                exc,
                UNKEPT,
            )
            return []
        used = os.pread(self._fd, self._size, 0).split(b"\0", 1)[0]
        # Whole records end their line; what follows the last line end is a record whose write
        # the stop cut off. The next record goes where it began, on a line of its own.
        self._end = used.rfind(b"\n") + 1
        if torn := used[self._end :]:
            log.error(
                "a kept action in %s cannot be read (its write was cut off by the stop): %r",
                self.path,
                torn[:200],
            )
            self._blank(self._end, len(torn))
        try:
            os.posix_fallocate(self._fd, 0, self._size)
            self._room = True
        except OSError as exc:
            log.error(
                "no room reserved in %s for actions held through a full disk (%s): while the "
                "ledger cannot be written, %s",
                self.path,
                exc,
                UNKEPT,
            )
        kept = [p for line in used[: self._end].splitlines() if (p := self._read(line))]
        self._pending = {p.message_id for p in kept}
        self._reads = {p.then: p for p in kept if isinstance(p.then, HandheldRead)}
        if kept:
            log.warning("%d actions kept through a stop are carried out again", len(kept))
        elif self._end:
            self._empty()  # records none of which can be read
        return kept

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def keep(self, action: Change) -> RememberCommand | None:
        """Write `action` (of one of the `KINDS`) to the file and sync it; the change that
        carries it out under its key, or None when it could not be kept (no room reserved, the
        room used up, an I/O error). A handheld read kept before and not yet done: its key."""
        if self._fd is None or not self._room:
            return None
        if (read := self._reads.get(action)) is not None and read.message_id in self._pending:
            return read
        self._count += 1
        kind = _KIND_OF[type(action)]
        key = f"{kind}:{self._run}:{self._count}"
        once = RememberCommand(key, kind, iso(self._clock.now() + KEPT_FOR), then=action)
        line = json.dumps(_record(once, action), separators=(",", ":")).encode() + b"\n"
        if self._end + len(line) > self._size:
            if not self._told_full:
                log.error("%s is full: further %s", self.path, UNKEPT)
                self._told_full = True
            return None
        try:
            os.pwrite(self._fd, line, self._end)
            os.fdatasync(self._fd)
        except OSError as exc:
            log.error("a held action could not be kept in %s: %s", self.path, exc)
            return None
        self._end += len(line)
        self._pending.add(key)
        if isinstance(action, HandheldRead):
            self._reads[action] = once
        return once

    def done(self, key: str) -> None:
        """The action kept under `key` is written or refused: once none is left, the file is
        emptied."""
        self._pending.discard(key)
        if not self._pending and self._end:
            self._empty()

    def _empty(self) -> None:
        if self._blank(0, self._end):  # else kept actions carried out again are skipped by key
            self._end = 0
            self._told_full = False
            self._reads.clear()

    def _blank(self, start: int, length: int) -> bool:
        """Zero `length` bytes from `start` (the file's room stays); whether that was done."""
        if self._fd is None:
            return False
        try:
            os.pwrite(self._fd, bytes(length), start)
            os.fdatasync(self._fd)
        except OSError as exc:
            log.error("%s could not be emptied: %s", self.path, exc)
            return False
        return True

    def _read(self, line: bytes) -> RememberCommand | None:
        try:
            return _once(json.loads(line))
        except (ValueError, KeyError, TypeError) as exc:
            log.error("a kept action in %s cannot be read (%s): %r", self.path, exc, line[:200])
            return None


def _record(once: RememberCommand, action: Change) -> dict[str, object]:
    record: dict[str, object] = {
        "key": once.message_id,
        "kind": once.command,
        "expires_at": once.expires_at,
    }
    for field in dataclasses.fields(action):
        value = getattr(action, field.name)
        if isinstance(value, PackScan):
            expiry = value.expiry.isoformat() if value.expiry else None
            value = {
                "gtin": value.gtin,
                "expiry": expiry,
                "batch": value.batch,
                "serial": value.serial,
            }
        record[field.name] = list(value) if isinstance(value, tuple) else value
    return record


def _once(record: dict[str, Any]) -> RememberCommand:
    """A kept action from its record: the action, its key remembered with it."""
    kind = str(record["kind"])
    cls = KINDS[kind]
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        value = record[field.name]
        if field.name == "scan":
            expiry = value["expiry"]
            value = PackScan(
                str(value["gtin"]),
                None if expiry is None else date.fromisoformat(expiry),
                str(value["batch"]),
                str(value["serial"]),
            )
        values[field.name] = tuple(value) if isinstance(value, list) else value
    return RememberCommand(str(record["key"]), kind, str(record["expires_at"]), then=cls(**values))
