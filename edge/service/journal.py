"""Log lines as the place they go expects them.

Under systemd, stderr is a stream to journald and `JOURNAL_STREAM` names it (`device:inode`).
journald stamps each line with its own time and reads a leading `<N>` as the line's syslog
priority, so `journalctl -u rxedge -p warning` finds the warnings: there each line starts with
its priority and carries no timestamp. Anywhere else (a terminal, a file, a pipe that only
inherited the variable) lines stay for people: a timestamp, the level, the logger.

A message is one line either way: line breaks and other control characters in it (a name
sent in a command, text a device sent) are written as escapes, so text from the network cannot
start a line, and with it a forged entry, of its own. A traceback keeps its lines.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping
from typing import TextIO

HUMAN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Characters that end a line or hide text on a terminal: C0, DEL, C1, Unicode line separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")

# syslog priorities (RFC 5424): what journald files a line under.
ERROR, WARNING, INFO, DEBUG = 3, 4, 6, 7


def syslog_priority(levelno: int) -> int:
    """The syslog priority of a Python log level (CRITICAL is logged as an error too)."""
    if levelno >= logging.ERROR:
        return ERROR
    if levelno >= logging.WARNING:
        return WARNING
    if levelno >= logging.INFO:
        return INFO
    return DEBUG


def one_line(text: str) -> str:
    """`text` with its control characters escaped (a line break as \\n)."""
    return _CONTROL.sub(lambda found: repr(found.group())[1:-1], text)


def printable(text: str) -> str:
    """`text` as a terminal shows it and acts on none of it: every character that is not
    printable (C0 such as a line break, a tab or ESC; DEL; C1; Unicode's line separators and
    invisible format characters) written as its escape (\\n, \\x1b, \\u202e)."""
    return "".join(
        c if c.isprintable() or c == " " else c.encode("unicode_escape").decode("ascii")
        for c in text
    )


class OneLineFormatter(logging.Formatter):
    """A formatter whose messages stay on one line (see the module's docstring)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = one_line(record.message)
        return super().formatMessage(record)


class JournalFormatter(OneLineFormatter):
    """`<priority>logger: message`, every line of it prefixed (a traceback's lines too: journald
    takes each line as an entry of its own)."""

    def __init__(self) -> None:
        super().__init__("%(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{syslog_priority(record.levelno)}>"
        return "\n".join(prefix + line for line in super().format(record).splitlines())


def stderr_is_journal(environ: Mapping[str, str] = os.environ, fd: int | None = None) -> bool:
    """True when `JOURNAL_STREAM` names the very file stderr is (as systemd sets it)."""
    named = environ.get("JOURNAL_STREAM", "")
    device, _, inode = named.partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    try:
        found = os.fstat(sys.stderr.fileno() if fd is None else fd)
    except (OSError, ValueError, AttributeError):
        return False
    return (found.st_dev, found.st_ino) == (int(device), int(inode))


def tell(text: str, priority: int = ERROR) -> None:
    """Print `text` to stderr for the person who reads it there: under journald each line
    starts with its syslog `priority`, so `journalctl -p warning` shows why a service did not
    start (a configuration mistake, a ledger refused); elsewhere it is printed as it is."""
    prefix = f"<{priority}>" if stderr_is_journal() else ""
    for line in text.splitlines() or [""]:
        print(prefix + line, file=sys.stderr)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record comes: a command that wraps it (to end
    quietly once its reader has gone, `edge.service.stopping`) has its log lines wrapped too."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _stream: TextIO) -> None:
        pass  # always sys.stderr


def configure_logging(level: int) -> None:
    """Log to stderr at `level`, in the journal's format when stderr is the journal."""
    handler = _Stderr()
    handler.setFormatter(
        JournalFormatter() if stderr_is_journal() else OneLineFormatter(HUMAN_FORMAT)
    )
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
