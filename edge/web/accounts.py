"""The page's local accounts: a JSON file of user names, display names, argon2id hashes and
(optionally) the UID of each person's badge, written by `rxedge web add-user` / `remove-user`
and read by the page (again whenever the file changes, so a removed account can act no more
without a restart)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from edge.settings.service_user import process_user

USER_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")
BADGE_PATTERN = re.compile(r"^([0-9A-F]{2}){4,10}$")  # a card UID, 4 to 10 bytes in hex
MIN_PASSWORD = 10
_HASHER = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the user is unknown, so that a wrong name costs as long as a
    wrong password (no telling which accounts exist by timing)."""
    return _HASHER.hash("not a password of anyone's")


class AccountError(Exception):
    """An account cannot be added, removed or read; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Account:
    user: str  # what is typed to log in
    name: str  # the person's name, written to the ledger as the actor
    # The account's entry as it was at login (its password's hash, new at every add-user):
    # a login holds while the entry stands, so a new badge or password ends it.
    proof: str = field(default="", repr=False)


class Accounts:
    """The accounts file at `path` (it may not exist yet: then nobody can log in)."""

    def __init__(self, path: Path):
        self.path = path
        self._seen: tuple[int, int] | None = None
        self._users: dict[str, dict[str, str]] = {}

    def _load(self) -> dict[str, dict[str, str]]:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            self._seen, self._users = None, {}
            return self._users
        stamp = (info.st_mtime_ns, info.st_size)
        if stamp != self._seen:
            try:
                text = self.path.read_text(encoding="utf-8")
            except OSError as exc:
                raise AccountError(_unreadable(self.path, exc)) from None
            self._seen, self._users = stamp, _users_in(text, self.path)
        return self._users

    def holds(self, account: Account) -> bool:
        """Whether a login as `account` still holds: the account exists and was not written
        again since (no new password or badge: a lost badge given up ends its logins)."""
        found = self._load().get(account.user)
        return found is not None and found["hash"] == account.proof

    def check(self, user: str, password: str) -> Account | None:
        """The account, when `password` is its password; None otherwise."""
        found = self._load().get(user)
        try:
            _HASHER.verify(found["hash"] if found else _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            return None
        return None if found is None else Account(user, found["name"], found["hash"])

    def for_badge(self, uid: str) -> Account | None:
        """The account whose badge has this UID, if any."""
        for user, found in self._load().items():
            if found.get("badge") == uid.upper():
                return Account(user, found["name"], found["hash"])
        return None

    def users(self) -> list[Account]:
        return [Account(u, v["name"]) for u, v in sorted(self._load().items())]

    def add(self, user: str, name: str, password: str, badge: str | None = None) -> None:
        """Add `user` (or give it a new name and password), with its badge's UID if given."""
        if not USER_PATTERN.match(user):
            raise AccountError(
                f"user name {user!r}: 1-32 lower-case letters, digits, '.', '_' or '-', "
                "starting with a letter or digit (e.g. ana.ruiz)"
            )
        if not name.strip() or len(name) > 80:
            raise AccountError("the person's name must be 1-80 characters (e.g. --name 'Ana Ruiz')")
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
        users = dict(self._load())
        entry = {"name": name.strip(), "hash": _HASHER.hash(password)}
        if badge is not None:
            entry["badge"] = _badge(badge, user, users)
        elif "badge" in users.get(user, {}):
            entry["badge"] = users[user]["badge"]  # a new password keeps the badge
        users[user] = entry
        self._write(users)

    def badges(self) -> dict[str, str]:
        """User -> badge UID, for the accounts that have one."""
        return {u: v["badge"] for u, v in sorted(self._load().items()) if "badge" in v}

    def remove(self, user: str) -> None:
        users = dict(self._load())
        if users.pop(user, None) is None:
            known = ", ".join(sorted(users)) or "none"
            raise AccountError(f"no account {user!r} in {self.path} (accounts: {known})")
        self._write(users)

    def _write(self, users: dict[str, dict[str, str]]) -> None:
        """Atomically, readable by owner and group only (the page runs in the group)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".web-users-")
        try:
            os.fchmod(fd, 0o640)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({"users": users}, out, indent=2, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
            if self.path.exists():
                info = self.path.stat()
                with contextlib.suppress(PermissionError):  # keep the group the page reads with
                    os.chown(temp, info.st_uid, info.st_gid)
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        self._seen = None


def _unreadable(path: Path, exc: OSError) -> str:
    """What to say of an accounts file this process cannot read: when denied, the group the
    page runs in (this process's), to give the file."""
    said = f"the accounts file {path} cannot be read ({exc.strerror or exc})"
    if not isinstance(exc, PermissionError):
        return f"{said}: it must be the file `rxedge web add-user` writes"
    user, group = process_user()
    return (
        f"{said}: the page reads it as user {user}, group {group}; give it that group, mode "
        f"0640 (as root: chgrp {group} {path}; chmod 0640 {path})"
    )


def _users_in(text: str, path: Path) -> dict[str, dict[str, str]]:
    """The accounts an accounts file holds; AccountError naming what is wrong and the fix."""
    fix = "mend it, or move it aside and add the accounts again with `rxedge web add-user`"
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise AccountError(f"the accounts file {path} is not JSON ({exc}): {fix}") from None
    users = body.get("users") if isinstance(body, dict) else None
    if not isinstance(users, dict):
        raise AccountError(f'the accounts file {path} has no "users" object: {fix}')
    for user, entry in users.items():
        if not isinstance(entry, dict) or not all(
            isinstance(entry.get(key), str) for key in ("name", "hash")
        ):
            raise AccountError(
                f'the accounts file {path}: account {user!r} needs "name" and "hash" '
                f"(text, as `rxedge web add-user` writes them): {fix}"
            )
    return users


def _badge(badge: str, user: str, users: dict[str, dict[str, str]]) -> str:
    uid = badge.strip().upper()
    if not BADGE_PATTERN.match(uid):
        raise AccountError(
            f"badge {badge!r}: the card's UID in hex, 4 to 10 bytes (e.g. --badge 04A1B2C3D4E5F6;"
            " `rxedge sim badge` and the daemon's log show the UID of a badge put on the reader)"
        )
    for other, found in users.items():
        if other != user and found.get("badge") == uid:
            raise AccountError(f"badge {uid} is already {other}'s; one badge, one person")
    return uid
