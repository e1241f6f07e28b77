"""Commands that run until they are stopped end the same way on Ctrl-C, on SIGTERM, and when
their terminal closes (SIGHUP): what they started is stopped, what they wrote is tidied away."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
from collections.abc import Coroutine
from typing import Any

TERMINATED = 128 + signal.SIGTERM
HUNG_UP = 128 + signal.SIGHUP


def run_stoppable(main: Coroutine[Any, Any, int]) -> int:
    """Run `main` to its exit status; Ctrl-C, SIGTERM (a `timeout`, a service manager, `kill`)
    and SIGHUP (the terminal window closed) cancel it, so what it started is stopped and what
    it wrote is tidied away before the command exits with 130, 143 or 129. Python's default
    would end the process there and then on SIGTERM and SIGHUP, and on a second Ctrl-C, leaving
    its broker running and its temporary files behind; here a signal that comes while the
    tidy-up runs changes nothing."""

    async def guarded() -> int:
        task = asyncio.current_task()
        assert task is not None
        stopped_by: list[int] = []

        def stop(signum: int) -> None:
            if signum == signal.SIGHUP:
                _quiet_closed_terminal()
            if not stopped_by:
                stopped_by.append(signum)
                task.cancel()

        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(signum, stop, signum)
        try:
            return await main
        except asyncio.CancelledError:
            if not stopped_by:
                raise
            return 128 + stopped_by[0]

    return asyncio.run(guarded())


def _quiet_closed_terminal() -> None:
    """Point stdout and stderr at /dev/null where they are a terminal (not a file or a pipe):
    a terminal that hung up fails every write with EIO, which would break the tidy-up that
    follows and turn the exit status into Python's 120."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in (1, 2):
            try:
                if stat.S_ISCHR(os.fstat(fd).st_mode):
                    os.dup2(devnull, fd)
            except OSError:
                continue
    finally:
        os.close(devnull)
