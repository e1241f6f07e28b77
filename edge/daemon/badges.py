"""Who is badged in: pharmacists' badges on the PC/SC readers, for actions that need a name.

A scanner whose entry names the badge reader at its desk (`badge_reader`) books in the name of
whoever is badged in there. Anything else is credited to a badge holder only when that cannot
be wrong: exactly one person is badged in. With several badged in at different readers nobody
is guessed (the audit trail must not name the clerk at another desk): the action is credited
as if nobody were badged in, and a warning, once for each kind of action, names the fix.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from edge.daemon.activity import Activity, Observer
from edge.settings.config import GatewayConfig

SYSTEM = "system"  # the actor of what a desk books with nobody badged in


class BadgeHolders:
    """Reader name -> the pharmacist whose badge is on it; `desks`: scanner -> the badge
    reader at its desk."""

    def __init__(
        self,
        pharmacists: Mapping[str, str],
        desks: Mapping[str, str],
        observe: Observer,
    ):
        self._names = dict(pharmacists)  # badge uid -> name
        self._desks = dict(desks)
        self._observe = observe
        self._warned: set[str] = set()
        self.holders: dict[str, str] = {}

    @classmethod
    def configured(cls, config: GatewayConfig, observe: Observer) -> BadgeHolders:
        """The pharmacists' badges and the desks' badge readers of `config`."""
        return cls(
            {p.uid: p.name for p in config.pharmacists},
            {s.name: s.badge_reader for s in config.scanners if s.badge_reader},
            observe,
        )

    def present(self, reader: str, uid: str) -> str | None:
        """A badge was put on `reader`: its holder's name, None for a badge nobody holds."""
        name = self._names.get(uid)
        if name is not None:
            self.holders[reader] = name
        return name

    def removed(self, reader: str) -> str | None:
        """The badge left `reader`: whose it was, if known."""
        return self.holders.pop(reader, None)

    def at_scanner(self, scanner: str) -> str:
        """Who books what `scanner` scans: the holder at its desk's badge reader ("system"
        when nobody is badged in there); for a scanner that names none, the one person
        badged in (else "system")."""
        reader = self._desks.get(scanner)
        if reader is not None:
            return self.holders.get(reader, SYSTEM)
        fix = (
            f"set badge_reader in scanner {scanner}'s [[scanners]] entry to the badge reader at "
            "its desk"
        )
        return self._sole(SYSTEM, f"scanner {scanner}'s scans are booked as {SYSTEM!r}", fix)

    def sweeper(self) -> str:
        """Who sweeps a shelf with a handheld (a sweep it starts, or one started by a command
        that names nobody): the one person badged in, else "" (the sweep's own default)."""
        fix = "start the sweep with `rxedge stocktake start SHELF --by NAME`"
        return self._sole("", "stocktake sweeps are credited to no badge holder", fix)

    def _sole(self, default: str, outcome: str, fix: str) -> str:
        names = set(self.holders.values())
        if len(names) == 1:
            return names.pop()
        if names and outcome not in self._warned:
            self._warned.add(outcome)
            badged = ", ".join(f"{name} on {reader}" for reader, name in self.holders.items())
            self._observe(
                Activity(
                    "badge",
                    f"several people are badged in ({badged}), so {outcome} rather than "
                    f"guess; {fix}",
                    logging.WARNING,
                )
            )
        return default
