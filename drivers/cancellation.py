"""Honouring a cancel that Python 3.11's `asyncio.wait_for` swallowed."""

from __future__ import annotations

import asyncio


def raise_if_cancelling() -> None:
    """Raise CancelledError if the current task was asked to stop: on Python 3.11,
    `asyncio.wait_for` (ours, or one inside a library such as pymodbus's client) can swallow a
    cancel that arrives as the awaited result does."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
