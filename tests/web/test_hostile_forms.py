"""Forms as a script on the pharmacy's network would send them, without an account: a body far
larger than any of the page's forms is refused (413) before it is read, whether it says its
length or comes in chunks, also where a login is needed; one that does not come is given up
(408); a security token with characters beyond ASCII is refused like any wrong one (403),
not answered with an error and a traceback in the journal."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from edge.demo.local_broker import LocalBroker
from tests.web.page_rig import PASSWORD, USER, page_rig
from tests.web.raw_http import connections

ACK = "/alarms/x/ack"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
LIMIT = 64 * 1024  # the largest body the page reads
BODY_WAIT = 15.0  # s: the page's 10 s for a body to come whole, and time to spare


async def test_a_body_larger_than_any_form_is_refused_before_it_is_read(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker) as web, connections(web.url) as connect:
        for path in (ACK, "/login", "/login/badge"):
            # Said by its length: refused at once, the rest never sent.
            connection = await connect()
            connection.send(
                connection.head("POST", path, {**FORM, "Content-Length": str(150 * 1024**2)})
                + b"csrf=x&" * 1000
            )
            assert (await connection.answer()).status == 413, path
            assert await connection.closed_by_page(5)

            # In chunks: refused once past the limit, the last chunk never sent.
            connection = await connect()
            connection.send(connection.head("POST", path, {**FORM, "Transfer-Encoding": "chunked"}))
            chunk = b"a" * 16 * 1024
            for _ in range(LIMIT // len(chunk) + 1):
                connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            assert (await connection.answer()).status == 413, path
            assert await connection.closed_by_page(5)

        # The page's own forms are read as ever.
        cookie, token = await web.login_form()
        status, _ = await web.post(
            "/login", {"csrf": token, "user": USER, "password": PASSWORD}, cookie
        )
        assert status == 200  # followed to the page it leads to


async def test_a_body_that_does_not_come_is_given_up(tmp_path: Path, broker: LocalBroker) -> None:
    async with page_rig(tmp_path, broker) as web, connections(web.url) as connect:
        connection = await connect()
        connection.send(connection.head("POST", ACK, {**FORM, "Content-Length": "100"}) + b"csrf=")
        assert (await connection.answer(within=BODY_WAIT)).status == 408
        assert await connection.closed_by_page(5)


async def test_a_token_beyond_ascii_is_refused_like_any_wrong_one(
    tmp_path: Path, broker: LocalBroker, caplog: pytest.LogCaptureFixture
) -> None:
    async with page_rig(tmp_path, broker) as web:
        caplog.set_level(logging.WARNING)
        cookie, _token = await web.login_form()
        form = {"csrf": "\u00e9", "user": USER, "password": PASSWORD}
        status, body = await web.post("/login", form, cookie)
        assert status == 403 and "security token" in body
        tab = await web.logged_in_tab()
        session = next(c for c in await tab.context.cookies() if c["name"] == "rxedge_session")
        status, body = await web.post(ACK, {"csrf": "\u00e9"}, f"rxedge_session={session['value']}")
        assert status == 403 and "security token" in body
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
