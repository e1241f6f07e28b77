"""A pseudo-terminal standing in for a serial cable: the device side is ours, the host side is a
path that the daemon opens like /dev/ttyUSB0."""

from __future__ import annotations

import contextlib
import os
import tty
from pathlib import Path


class PtyPort:
    """Opens a pty; `path` is the host side. The host-side descriptor stays open here too, so the
    device side keeps working while the host closes and reopens the port."""

    def __init__(self, link: Path | None = None):
        self.master, self._slave = os.openpty()
        tty.setraw(self.master)
        tty.setraw(self._slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self._slave)
        self.link = link
        if link is not None:
            with contextlib.suppress(FileNotFoundError):
                link.unlink()
            link.symlink_to(self.path)

    @property
    def name(self) -> str:
        """What to put in config: the link if one was asked for, else the pty's own path."""
        return str(self.link) if self.link is not None else self.path

    def close(self) -> None:
        """Hang up: the host side sees the port vanish, as when a cable is pulled."""
        for fd in (self.master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()
