"""Commands that run until they are stopped end the same way on Ctrl-C, on SIGTERM, and when
their terminal closes (SIGHUP, or what read their output through a pipe went away): what they
started is stopped, what they wrote is tidied away."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import stat
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TextIO, cast

TERMINATED = 128 + signal.SIGTERM
HUNG_UP = 128 + signal.SIGHUP


def run_stoppable(main: Coroutine[Any, Any, int]) -> int:
    """Run `main` to its exit status; Ctrl-C, SIGTERM (a `timeout`, a service manager, `kill`)
    and SIGHUP (the terminal window closed) cancel it, so what it started is stopped and what
    it wrote is tidied away before the command exits with 130, 143 or 129. Python's default
    would end the process there and then on SIGTERM and SIGHUP, and on a second Ctrl-C, leaving
    its broker running and its temporary files behind; here a signal that comes while the
    tidy-up runs changes nothing. Output whose reader went away (`| tee log` in a window
    closed) counts as the terminal closing: 129, the rest of the output dropped quietly."""

    async def guarded() -> int:
        task = asyncio.current_task()
        assert task is not None
        stopped_by: list[int] = []

        def halt(signum: int) -> None:
            if not stopped_by:
                stopped_by.append(signum)
                task.cancel()

        def stop(signum: int) -> None:
            if signum == signal.SIGHUP:
                _quiet_closed_terminal()
            halt(signum)

        def reader_gone() -> None:  # told by whatever wrote, maybe in another thread
            with contextlib.suppress(RuntimeError):  # the loop has closed: nothing to stop
                loop.call_soon_threadsafe(halt, signal.SIGHUP)

        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(signum, stop, signum)
        outputs = sys.stdout, sys.stderr
        sys.stdout = cast(TextIO, _Output(sys.stdout, reader_gone))
        sys.stderr = cast(TextIO, _Output(sys.stderr, reader_gone))
        try:
            return await main
        except asyncio.CancelledError:
            if not stopped_by:
                raise
            return 128 + stopped_by[0]
        finally:
            sys.stdout.flush()  # a reader gone found now is as quiet as one found before
            sys.stdout, sys.stderr = outputs

    return asyncio.run(guarded())


class StopSignals:
    """Ctrl-C (SIGINT) and SIGTERM, handled by the running loop inside the `with` block: the
    first of them sets `ended` (the one given, or its own), for a command that then ends as it
    ends by itself (what it holds put away, its summary said); `status` is then the shell's
    status of a command that signal ended (130, 143). A second one sets `again`: a command
    that finishes something first stops at once on it. Handled by the loop rather than by
    Python's KeyboardInterrupt, they stop the command also when it was started with SIGINT
    ignored (a background job of a script), and SIGTERM (a service manager, `kill`) does not
    end it there and then. Outside the block each signal does what it did before."""

    def __init__(self, ended: asyncio.Event | None = None):
        self.ended = asyncio.Event() if ended is None else ended
        self.again = asyncio.Event()
        self.status: int | None = None
        self._before: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._before[signum] = signal.getsignal(signum)
            loop.add_signal_handler(signum, self._stop, signum)
        return self

    def __exit__(self, *_: object) -> None:
        loop = asyncio.get_running_loop()
        for signum, before in self._before.items():
            loop.remove_signal_handler(signum)
            if before is not None:  # None: set outside Python, which cannot set it back
                signal.signal(signum, before)

    def _stop(self, signum: int) -> None:
        if self.status is None:
            self.status = 128 + signum
        elif self.ended.is_set():
            self.again.set()
        self.ended.set()


class _Output:
    """sys.stdout or sys.stderr, for a command that runs until stopped: once what reads it (a
    pipe's reader) has gone, what is written is dropped (the file descriptor points at
    /dev/null) and `gone` is told, once; a broken pipe would otherwise fail whatever wrote
    (a line of the tidy-up, the summary) and end the command with a traceback."""

    def __init__(self, stream: TextIO, gone: Callable[[], None]):
        self._stream = stream
        self._gone = gone
        self._told = False

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._reader_gone()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._reader_gone()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def _reader_gone(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self._stream.fileno())
        finally:
            os.close(devnull)
        if not self._told:
            self._told = True
            self._gone()


async def tidy_up(stack: contextlib.AsyncExitStack) -> bool:
    """Close `stack` (stop what a command started, in turn) to its end even when a stop signal
    comes meanwhile, which would otherwise cut it short (a broker left running, retained
    messages left uncleared); whether one came."""
    tidying = asyncio.ensure_future(stack.aclose())
    try:
        await asyncio.shield(tidying)
    except asyncio.CancelledError:
        await tidying
        return True
    return False


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
