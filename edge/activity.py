"""A readable account of what the gateway does, for the demo and the logs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Activity:
    """One thing that happened: `kind` for filtering ("movement", "alarm", "request", "device",
    "led", "sync", "button"), `text` for people."""

    kind: str
    text: str


Observer = Callable[[Activity], None]
