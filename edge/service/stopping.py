"""Commands that run until they are stopped end the same way on SIGTERM as on Ctrl-C."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine
from typing import Any

TERMINATED = 128 + signal.SIGTERM


def run_stoppable(main: Coroutine[Any, Any, int]) -> int:
    """Run `main` to its exit status; SIGTERM (a `timeout`, a service manager, `kill`) cancels it
    as Ctrl-C does, so what it started is stopped and what it wrote is tidied away before the
    command exits with 143. Python's default would end the process there and then, leaving its
    broker running and its temporary files behind."""

    async def guarded() -> int:
        task = asyncio.current_task()
        assert task is not None
        terminated = asyncio.Event()

        def terminate() -> None:
            terminated.set()
            task.cancel()

        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, terminate)
        try:
            return await main
        except asyncio.CancelledError:
            if not terminated.is_set():
                raise
            return TERMINATED

    return asyncio.run(guarded())
