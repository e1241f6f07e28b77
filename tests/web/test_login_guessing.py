"""Password guessing over plain HTTP, as a script on the pharmacy's network would try it: many
wrong logins sent at once are limited like the same sent one after another."""

from __future__ import annotations

import asyncio
from pathlib import Path

from edge.demo.local_broker import LocalBroker
from tests.web.page_rig import PASSWORD, USER, page_rig

GUESSES = 24


async def test_wrong_logins_sent_at_once_are_limited_like_ones_sent_in_turn(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker, web={"login_failures": 3}) as web:
        cookie, csrf = await web.login_form()
        form = {"csrf": csrf, "user": USER, "next": "/"}
        answers = await asyncio.gather(
            *(
                web.post("/login", {**form, "password": f"guess {n}"}, cookie)
                for n in range(GUESSES)
            )
        )
        checked = [status for status, _ in answers if status == 401]
        assert len(checked) <= 3, f"{len(checked)} of {GUESSES} guesses were checked, not 3"
        assert {status for status, _ in answers} <= {401, 429}
        status, body = await web.post("/login", {**form, "password": PASSWORD}, cookie)
        assert status == 429 and "Too many failed logins" in body
