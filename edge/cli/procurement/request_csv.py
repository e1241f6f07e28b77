"""The clerk's CSV file of requests (`rxedge procurement watch --csv`): one row a request,
appended and synced as it arrives, read back at the next start for the requests written down.
Request rows only: a script ordering each row orders each request once (that a request taken is
urgent now goes to stderr, edge.cli.procurement.urgent). A file begun by another version of the
watch keeps its own columns: without the site and gateway, or with the `news` column of one that
wrote such news as rows (read back as request rows; new rows leave it empty)."""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from sync.procurement_feed import ReceivedRequest, RequestKey

log = logging.getLogger(__name__)
REQUEST_FIELDS = (
    "request_id",
    "created_at",
    "gtin",
    "name",
    "quantity",
    "unit",
    "priority",
    "reason",
    "confirmed_by",
)
REASON_FIGURES = ("on_hand", "on_order", "reorder_point", "par")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula
GUARD = "'"  # before such text in a cell, so that it is shown as text
URGENT = ("urgent", "stat")  # the priorities of rows that need no news of urgency
# A row: when and where the request came from, then its fields, the reason spread into its
# figures.
CSV_COLUMNS = (
    "received_at",
    "site",
    "gateway",
    *(f for name in REQUEST_FIELDS for f in (REASON_FIGURES if name == "reason" else (name,))),
)


class RequestCsv:
    """Requests appended to a CSV file, one row each (the header once, in a new file), each row
    flushed and synced before `write` returns."""

    def __init__(self, path: Path):
        self.path = path
        cut_torn_row(path)  # a row half-written when the watch stopped comes again whole
        new = not path.exists() or path.stat().st_size == 0
        self.columns = CSV_COLUMNS if new else _header(path) or CSV_COLUMNS
        self._file: IO[str] = path.open("a", newline="", encoding="utf-8")
        self._rows = csv.writer(self._file)
        if new:
            self._rows.writerow(CSV_COLUMNS)
            self._sync()

    def request_keys(self) -> list[RequestKey]:
        """The requests the file holds already."""
        return written_requests(self.path)

    def urgent_keys(self) -> list[RequestKey]:
        """The requests the file holds as urgent (or stat): taken so (or, in a file of the
        version that wrote news rows, told so since)."""
        return written_requests(self.path, URGENT)

    def write(self, request: ReceivedRequest, received_at: str) -> None:
        b, topics = request.body, request.topics
        given = b.get("reason")
        reason: dict[str, object] = given if isinstance(given, dict) else {}
        values = {
            **{name: b.get(name) for name in CSV_COLUMNS},
            **{name: reason.get(name) for name in REASON_FIGURES},
            "received_at": received_at,
            "site": topics.site,
            "gateway": topics.gateway,
        }
        self._rows.writerow([_cell(values.get(c)) for c in self.columns])
        self._sync()

    def close(self) -> None:
        self._file.close()

    def _sync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())


def written_requests(path: Path, priorities: tuple[str, ...] = ()) -> list[RequestKey]:
    """The requests the CSV file at `path` holds (given `priorities`, those of its rows of one
    of them), each by its site, gateway and id (a file without site and gateway columns gives
    the ids alone: from any gateway)."""
    with path.open(newline="", encoding="utf-8") as held:
        return [
            RequestKey(
                _uncell(row.get("site") or ""), _uncell(row.get("gateway") or ""), row["request_id"]
            )
            for row in csv.DictReader(held)
            if row.get("request_id") and (not priorities or row.get("priority") in priorities)
        ]


def _header(path: Path) -> tuple[str, ...]:
    """The columns the file at `path` was begun with (another version's: e.g. with `news`)."""
    with path.open(newline="", encoding="utf-8") as held:
        return tuple(next(csv.reader(held), ()))


def cut_torn_row(path: Path) -> None:
    """Cut what follows the last whole row of the CSV file at `path`: a row the watch stopped
    writing half-way (a full disk, a power cut), cut off anywhere, inside a quoted cell holding
    a line break too. Its request was not acknowledged, so it comes again and is written whole,
    as a row of its own (and is not taken for one written down before)."""
    if not path.exists():
        return
    data = path.read_bytes()
    kept = _whole_rows_length(data)
    if kept == len(data):
        return
    log.warning("%s: cut the unfinished last row %r", path, data[kept : kept + 80])
    with path.open("rb+") as held:
        held.truncate(kept)
        held.flush()
        os.fsync(held.fileno())


def _whole_rows_length(data: bytes) -> int:
    """How many bytes of CSV `data` its whole rows take: each ends with a line end outside
    quotes. A row the reader refuses (a cell past its size limit) is passed over, not cut."""
    lines = data.splitlines(keepends=True)
    taken = 0  # bytes of the lines the reader has taken so far
    ran_out = False  # the reader asked for more than there is

    def fed() -> Iterator[str]:
        nonlocal taken, ran_out
        for line in lines:
            taken += len(line)
            yield line.decode("utf-8", "surrogateescape")
        ran_out = True

    rows = csv.reader(fed())
    whole = 0
    while True:
        try:
            next(rows)
        except StopIteration:
            return whole
        except csv.Error:
            continue
        if ran_out:  # ended by the end of the data, inside a quoted cell
            return whole
        if data[taken - 1 : taken] in (b"\n", b"\r"):
            whole = taken


def _cell(value: object) -> object:
    """A CSV cell: text a spreadsheet would take for a formula (a sender's product name, or a
    site, starting with = + - @, a tab or a carriage return) is written with a leading quote,
    and so is text that would otherwise read back as guarded (`_uncell`)."""
    if value is None:
        return ""
    if isinstance(value, str) and _guarded(value):
        return GUARD + value
    return value


def _uncell(cell: str) -> str:
    """The text `_cell` wrote as `cell` (a leading quote it added taken off)."""
    return cell[1:] if cell[:1] == GUARD and _guarded(cell[1:]) else cell


def _guarded(text: str) -> bool:
    """Whether `_cell` writes `text` after a leading quote: it starts as a formula does, or
    with a quote that the reader would take for the guard."""
    return text[:1] in FORMULA_STARTS or (
        text[:1] == GUARD and text[1:2] in (*FORMULA_STARTS, GUARD)
    )
