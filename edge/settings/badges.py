"""Pharmacists' badges: the PC/SC readers the badge service watches ([badges]), whose badge is
whose ([[pharmacists]]), and which reader is at which scanner's desk (a scanner's
`badge_reader`), so that what a desk books names the clerk badged in there. Part of
edge.settings.config."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Protocol

from pydantic import Field, field_validator

from edge.settings.sections import Strict


class BadgesConfig(Strict):
    enabled: bool = False
    # Only PC/SC readers whose name contains this text are watched ("": every reader).
    reader: str = ""


class PharmacistConfig(Strict):
    name: Annotated[str, Field(min_length=1)]
    badge: Annotated[str, Field(pattern=r"^([0-9A-Fa-f]{2}){4,10}$")]

    @field_validator("badge", mode="before")
    @classmethod
    def _without_colons(cls, value: object) -> object:
        """04:A1:B2:C3, as some readers' tools show a UID, is 04A1B2C3."""
        return value.replace(":", "") if isinstance(value, str) else value

    @property
    def uid(self) -> str:
        return self.badge.upper()


class _Desk(Protocol):
    @property
    def role(self) -> str: ...

    @property
    def badge_reader(self) -> str | None: ...


def badge_reader_problems(scanners: Sequence[_Desk], badges: BadgesConfig) -> list[str]:
    """A problem for each scanner's `badge_reader` that can name nobody: badges not enabled,
    a reader the badge service does not watch, or a picking scanner (its picks are the pick
    list's picker's)."""
    problems: list[str] = []
    for i, scanner in enumerate(scanners):
        reader = scanner.badge_reader
        if reader is None:
            continue
        key = f"scanners[{i}].badge_reader"
        if scanner.role == "picking":
            problems.append(
                f"{key}: a picking scanner's picks are credited to the pick list's picker, not "
                'to a badge; badge_reader is for role = "receiving" or "putaway": remove it'
            )
        elif not badges.enabled:
            problems.append(
                f"{key}: no badge reader is watched ([badges] enabled is false); set "
                "enabled = true in [badges], or remove badge_reader"
            )
        elif badges.reader not in reader:
            problems.append(
                f"{key}: {reader!r} is not a reader the badge service watches: [badges] "
                f"reader = {badges.reader!r} takes only readers whose name contains that text; "
                "give the reader's full PC/SC name (the daemon's log names it as a badge is put "
                "on it: 'Ana badged in on ...'), or change [badges] reader"
            )
    return problems
