"""Who is badged in: pharmacists' badges on the PC/SC readers, for actions that need a name."""

from __future__ import annotations

from collections.abc import Mapping


class BadgeHolders:
    """Reader name -> the pharmacist whose badge is on it."""

    def __init__(self, pharmacists: Mapping[str, str]):
        self._names = dict(pharmacists)  # badge uid -> name
        self.holders: dict[str, str] = {}

    def present(self, reader: str, uid: str) -> str | None:
        """A badge was put on `reader`: its holder's name, None for a badge nobody holds."""
        name = self._names.get(uid)
        if name is not None:
            self.holders[reader] = name
        return name

    def removed(self, reader: str) -> str | None:
        """The badge left `reader`: whose it was, if known."""
        return self.holders.pop(reader, None)

    def first(self, default: str = "") -> str:
        """Who is badged in (the first of them), for actions that name nobody."""
        return next(iter(self.holders.values()), default)
