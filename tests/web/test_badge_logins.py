"""Logging in by a badge tap, the rules: the one browser waiting gets the tap's account; two
waiting get nothing (a screen elsewhere cannot quietly take a tap); a tap before the browser
asked, after its window, or of a badge nobody holds logs in nobody. Badges in the accounts
file: one badge, one person, a UID in hex."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from edge.web.accounts import AccountError, Accounts
from edge.web.badge_login import AMBIGUOUS, UNKNOWN, BadgeLoginRefused, BadgeLogins

UID = "04A1B2C3D4E5F6"
READER = "Virtual PCD 00 00"


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def accounts(tmp_path: Path) -> Accounts:
    found = Accounts(tmp_path / "users.json")
    found.add("ana", "Ana Ruiz", "correct horse battery", badge=UID.lower())
    found.add("ben", "Ben Ode", "another long secret")
    return found


async def test_the_one_browser_waiting_is_logged_in_as_the_badges_holder(
    accounts: Accounts,
) -> None:
    logins = BadgeLogins(accounts, 30, Ticks())
    logins.ask("screen")
    waiting = asyncio.create_task(logins.wait("screen"))
    await asyncio.sleep(0)  # the browser's wait has begun
    logins.tapped(UID, READER)
    account = await asyncio.wait_for(waiting, 5)
    assert (account.user, account.name) == ("ana", "Ana Ruiz")
    assert not logins.waiting("screen"), "a tap logs in once"


async def test_two_browsers_waiting_means_the_tap_logs_in_neither(accounts: Accounts) -> None:
    logins = BadgeLogins(accounts, 30, Ticks())
    logins.ask("beside the reader")
    logins.ask("somewhere else")
    waits = [asyncio.create_task(logins.wait(s)) for s in ("beside the reader", "somewhere else")]
    await asyncio.sleep(0)
    logins.tapped(UID, READER)
    for wait in waits:
        with pytest.raises(BadgeLoginRefused, match="more than one screen"):
            await asyncio.wait_for(wait, 5)
    assert AMBIGUOUS.startswith("more than one screen")


async def test_a_tap_before_asking_or_after_the_window_logs_in_nobody(accounts: Accounts) -> None:
    ticks = Ticks()
    logins = BadgeLogins(accounts, 30, ticks)
    logins.tapped(UID, READER)  # nobody asked yet: ignored
    logins.ask("screen")
    ticks.now += 31
    with pytest.raises(BadgeLoginRefused, match="no badge was tapped within 30 s"):
        await logins.wait("screen")
    logins.tapped(UID, READER)
    with pytest.raises(BadgeLoginRefused, match="not waiting"):
        await logins.wait("screen")


async def test_a_badge_nobody_holds_is_refused_and_says_how_to_add_it(accounts: Accounts) -> None:
    logins = BadgeLogins(accounts, 30, Ticks())
    logins.ask("screen")
    logins.tapped("04112233445566", READER)
    with pytest.raises(BadgeLoginRefused, match="--badge UID"):
        await logins.wait("screen")
    assert "add-user" in UNKNOWN


async def test_a_tap_while_the_accounts_file_is_broken_tells_the_screen_why(
    accounts: Accounts,
) -> None:
    logins = BadgeLogins(accounts, 30, Ticks())
    logins.ask("screen")
    accounts.path.write_text('{"users": {"ana": ', encoding="utf-8")  # an edit left half done
    logins.tapped(UID, READER)
    with pytest.raises(BadgeLoginRefused, match=f"accounts file {accounts.path} is not JSON"):
        await logins.wait("screen")


def test_badges_in_the_accounts_file(accounts: Accounts) -> None:
    assert accounts.badges() == {"ana": UID}
    found = accounts.for_badge(UID.lower())
    assert found is not None and found.user == "ana"
    with pytest.raises(AccountError, match="already ana's"):
        accounts.add("ben", "Ben Ode", "another long secret", badge=UID)
    with pytest.raises(AccountError, match="4 to 10 bytes"):
        accounts.add("ben", "Ben Ode", "another long secret", badge="04-A1")
    accounts.add("ana", "Ana Ruiz", "a brand new password")
    assert accounts.badges() == {"ana": UID}, "a new password keeps the badge"
    accounts.remove("ana")
    assert accounts.for_badge(UID) is None
