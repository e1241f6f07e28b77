"""What the shelf buses last read of each controller's press counters, kept in a small file beside
the ledger (`<ledger>.presses`), so that presses made on the shelves while the daemon was not
running (a crash, the watchdog, an upgrade) are counted at its next start
(`drivers.modbus.between_runs` decides whether they can be).

The file is written when a controller's counters change (presses are rare; polls are not) and
every few minutes besides, to a new file that is synced and renamed over the old one, before
the presses read are handed on: a stop never leaves counters older than presses already booked.
Times are kept as wall-clock time, as the monotonic clock the buses run on starts again with the
machine; at the start they are turned back into it. A file that cannot be written (a full disk)
is removed instead, and the next start counts those controllers from their first reading.
Records of shelves no longer configured, or configured at another address, are dropped.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from drivers.modbus.controller import LastRead
from edge.clock import Clock
from edge.settings.config import ShelfConfig
from edge.settings.shared_lines import bus_of

log = logging.getLogger(__name__)


def counters_path(database: Path) -> Path:
    """The press counters file of the ledger at `database`."""
    return database.with_name(database.name + ".presses")


class PressCounters:
    """The kept readings of the configured `shelves`: `load` them at the start (for the
    buses), `keep` each controller's reading as its bus hands it on."""

    def __init__(self, path: Path, clock: Clock, shelves: Sequence[ShelfConfig]):
        self.path = path
        self._clock = clock
        self._where = {s.name: f"{bus_of(s)} device {s.device_id}" for s in shelves}
        self._records: dict[str, dict[str, Any]] = {}
        self._failing = False

    def load(self) -> dict[str, LastRead]:
        """Controller name -> what the previous run last read of it (its time on the monotonic
        clock), for each shelf configured now at the address it had then."""
        try:
            kept = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.error("press counters kept in %s cannot be read: %s", self.path, exc)
            return {}
        if not isinstance(kept, dict):
            log.error("press counters kept in %s cannot be read: not a JSON object", self.path)
            return {}
        found: dict[str, LastRead] = {}
        for name, record in kept.items():
            where = self._where.get(name)
            try:
                if where is None:
                    log.info("shelf %s is no longer configured: its press counters kept go", name)
                elif record["address"] != where:
                    log.warning(
                        "shelf %s is now at %s, no longer at %s: presses made on it while the "
                        "gateway was not running are not counted",
                        name,
                        where,
                        record["address"],
                    )
                else:
                    found[name] = self._last_read(record)
                    self._records[name] = record
            except (KeyError, TypeError, ValueError) as exc:
                log.error("press counters kept of shelf %s cannot be read: %r", name, exc)
        return found

    def keep(self, controller: str, read: LastRead) -> None:
        """Keep `read` as what was last read of `controller`, on disk before this returns."""
        wall = self._clock.time() - (self._clock.monotonic() - read.at)
        self._records[controller] = {
            "address": self._where.get(controller, ""),
            "counters": list(read.counters),
            "heartbeat": read.heartbeat,
            "read_at": round(wall, 3),
        }
        self._write()

    def _last_read(self, record: dict[str, Any]) -> LastRead:
        ago = self._clock.time() - float(record["read_at"])
        counters = tuple(int(c) for c in record["counters"])
        return LastRead(counters, int(record["heartbeat"]), self._clock.monotonic() - ago)

    def _write(self) -> None:
        new = self.path.with_name(self.path.name + ".new")
        data = json.dumps(self._records, separators=(",", ":"), sort_keys=True).encode()
        try:
            with contextlib.suppress(FileNotFoundError):
                new.unlink()  # one left by another user (root) cannot be opened for writing
            with new.open("xb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(new, self.path)
            _sync_folder(self.path.parent)
        except OSError as exc:
            self._failed(exc)
            return
        if self._failing:
            log.info("press counters are kept in %s again", self.path)
            self._failing = False

    def _failed(self, exc: OSError) -> None:
        """Counters older than presses already handed on must not be counted again at the next
        start: the file goes, and with it what it kept."""
        with contextlib.suppress(OSError):
            self.path.with_name(self.path.name + ".new").unlink(missing_ok=True)
        try:
            self.path.unlink(missing_ok=True)
            gone = "removed"
        except OSError as why:
            gone = f"could not be removed either ({why})"
        if not self._failing:
            log.error(
                "press counters cannot be kept in %s (%s): the file is %s, and presses made "
                "while the gateway is not running will not be counted until it can be written",
                self.path,
                exc,
                gone,
            )
            self._failing = True


def _sync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
