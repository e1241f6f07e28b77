"""The page follows the files it reads. The ledger file, not an old copy of it: when the file
is moved aside and a backup put in its place (the daemon stopped meanwhile), every view and
the live updates read the new file; while there is no file, the page says so and what to do,
without a traceback; a ledger an older release left, read while the daemon was stopped, is
read anew once the daemon upgraded it in place, so what it writes since shows. The accounts
file: left wrong (edited by hand), every view of a logged-in browser and a login say which
file and how to mend it (never a bare "Internal Server Error"), a view left open says so at
its next refresh, the log says it once, and the page is itself again once the file is
mended."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.async_api import expect

from edge.demo.local_broker import LocalBroker
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from inventory.ledger.schema import SCHEMA_VERSION
from sync.commands import with_envelope
from tests.conftest import Subscriber
from tests.edge.pick_rig import AMOX, PREFIX
from tests.inventory.test_store import file_at_version
from tests.inventory.test_store_upgrades import copy_into
from tests.web.page_rig import NAME, PASSWORD, USER, page_rig

SECOND = 5_000  # ms: generous under load

RESTORED = 7  # packs the backup holds in A-01 beyond what the running ledger does


def backup_with_more(db: Path, backup: Path) -> None:
    """A backup of `db` (SQLite's backup API) that holds more packs in A-01."""
    with sqlite3.connect(db) as source, sqlite3.connect(backup) as target:
        source.backup(target)
    keeper = InventoryKeeper(backup, {}, "s1", "g1")
    keeper.commit(
        [
            Movement(
                MovementKind.PUT_AWAY,
                AMOX,
                RESTORED,
                batch="LATE",
                expiry="2030-12-31",
                to_slot="A-01",
            )
        ]
    )
    keeper.close()


def move_aside(db: Path) -> None:
    """The ledger and its WAL files moved out of the way, as an operator does."""
    for suffix in ("", "-wal", "-shm"):
        found = Path(f"{db}{suffix}")
        if found.exists():
            os.replace(found, Path(f"{db}.old{suffix}"))


async def test_a_ledger_restored_from_a_backup_is_what_the_page_shows_and_follows(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    centre = subscribe(f"{PREFIX}/cmd-result")
    async with page_rig(tmp_path, broker) as web:
        tab = await web.tab()
        await tab.goto(f"{web.url}/shelves")
        on_hand = tab.locator('.slot[data-slot="A-01"] .on-hand')
        await expect(on_hand).to_have_text("3")
        backup = tmp_path / "backup.sqlite"
        backup_with_more(web.rig.db, backup)

        await web.rig.stop()
        move_aside(web.rig.db)
        missing = await tab.request.get(f"{web.url}/find?q=amoxicillin")
        assert missing.status == 503
        text = await missing.text()
        assert "no ledger at" in text and "rxedge run" in text and "Traceback" not in text
        os.replace(backup, web.rig.db)
        await web.rig.start()

        # The open page draws the restored figures without a reload, and new work shows.
        await expect(on_hand).to_have_text(str(3 + RESTORED), timeout=SECOND)
        await tab.goto(f"{web.url}/find?q=amoxicillin")
        await expect(tab.locator('[data-gtin="04012345123456"]')).to_contain_text(
            f"{4 + RESTORED} pack(s) usable"
        )
        await tab.goto(f"{web.url}/shelves")
        body = {"pick_id": "rx-200", "lines": [{"gtin": AMOX, "quantity": 1}], "picker": "Ana"}
        centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(body)))
        early = tab.locator('.slot[data-slot="A-02"]')
        await expect(early).to_have_attribute("data-on", "true", timeout=SECOND)
        await web.rig.press("A-02")
        await expect(early.locator(".holds")).to_have_text("empty", timeout=SECOND)


async def test_a_ledger_upgraded_in_place_shows_what_the_daemon_writes_after_the_upgrade(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    """The page reads a schema 2 ledger (an old backup restored, the new release installed) as
    the current schema: no pick lists yet. The daemon's start upgrades that same file; the pick
    list it then writes shows on the open page at its next refresh."""
    centre = subscribe(f"{PREFIX}/cmd-result")
    async with page_rig(tmp_path, broker) as web:
        tab = await web.logged_in_tab()
        await web.rig.stop_daemon()
        move_aside(web.rig.db)
        old = file_at_version(tmp_path / "schema-2.sqlite", 2)
        copy_into(old, Path(f"{web.rig.db}.old"))
        os.replace(old, web.rig.db)
        await tab.goto(f"{web.url}/picks")
        await expect(tab.locator("#picks")).to_be_visible()
        assert await tab.locator("[data-pick]").count() == 0

        await web.rig.start_daemon()  # upgrades the file where it lies: the same inode
        with sqlite3.connect(web.rig.db) as db:
            assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        body = {"pick_id": "rx-300", "lines": [{"gtin": AMOX, "quantity": 1}], "picker": "Ana"}
        centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(body)))
        await expect(tab.locator('[data-pick="rx-300"]')).to_have_count(1, timeout=SECOND)


async def test_a_broken_accounts_file_is_named_with_its_fix_on_every_view(
    tmp_path: Path,
    broker: LocalBroker,
    subscribe: Callable[..., Subscriber],
    caplog: pytest.LogCaptureFixture,
) -> None:
    users = tmp_path / "web-users.json"
    centre = subscribe(f"{PREFIX}/cmd-result")
    async with page_rig(tmp_path, broker) as web:
        tab = await web.logged_in_tab()
        await tab.goto(f"{web.url}/picks")
        good = users.read_text(encoding="utf-8")
        body = json.loads(good)
        del body["users"][USER]["hash"]  # a hand edit gone wrong
        users.write_text(json.dumps(body), encoding="utf-8")

        # The open view's next refresh (the ledger changed) says why it is not up to date.
        pick = {"pick_id": "rx-7", "lines": [{"gtin": AMOX, "quantity": 1}], "picker": "Ana"}
        centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(pick)))
        note = tab.locator("#picks > .not-refreshed")
        await expect(note).to_contain_text(f"account '{USER}' needs", timeout=SECOND)
        await expect(note).to_contain_text(str(users))

        for path in ("/picks", "/alarms", "/stocktake"):
            answer = await tab.goto(web.url + path)
            assert answer is not None and answer.status == 503, path
            problem = tab.locator(".problem")
            await expect(problem).to_contain_text(f"the accounts file {users}")
            await expect(problem).to_contain_text("rxedge web add-user")
        fresh = await web.tab()  # a login, while the file is wrong, says the same
        await fresh.goto(f"{web.url}/login")
        await fresh.fill("#user", USER)
        await fresh.fill("#password", PASSWORD)
        await fresh.click("form.login button")
        await expect(fresh.locator(".problem")).to_contain_text(f"the accounts file {users}")
        said = [r for r in caplog.records if str(users) in r.getMessage()]
        assert len(said) == 1 and said[0].levelno == logging.ERROR, said

        users.write_text(good, encoding="utf-8")  # mended: the login stands as it was
        await tab.goto(f"{web.url}/picks")
        await expect(tab.locator("#who")).to_have_text(NAME)
        await expect(tab.locator('[data-pick="rx-7"]')).to_have_count(1)
