"""An accounts file left wrong (edited by hand) or unreadable to the page: every view of a
logged-in browser, and a login, says which file and how to mend it (never a bare "Internal
Server Error"), a view left open says so at its next refresh, the log says it once, and the
page is itself again once the file is mended."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.async_api import expect

from edge.demo.local_broker import LocalBroker
from sync.commands import with_envelope
from tests.conftest import Subscriber
from tests.edge.pick_rig import AMOX, PREFIX
from tests.web.page_rig import NAME, PASSWORD, USER, page_rig

SECOND = 5_000  # ms: generous under load


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
