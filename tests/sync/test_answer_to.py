"""`answer_to`: the answer to a published message, whether or not the PUBACK came first."""

from __future__ import annotations

import asyncio

import pytest

from sync.errors import PublishRefused
from sync.mqtt_client import answer_to


async def test_an_answer_before_the_puback_is_taken() -> None:
    loop = asyncio.get_running_loop()
    published: asyncio.Future[None] = loop.create_future()  # the PUBACK never comes
    answer: asyncio.Future[str] = loop.create_future()
    loop.call_later(0.05, answer.set_result, "started")
    assert await answer_to(published, answer, 5) == "started"


async def test_a_puback_then_the_answer() -> None:
    loop = asyncio.get_running_loop()
    published: asyncio.Future[None] = loop.create_future()
    answer: asyncio.Future[str] = loop.create_future()
    loop.call_later(0.02, published.set_result, None)
    loop.call_later(0.05, answer.set_result, "done")
    assert await answer_to(published, answer, 5) == "done"


async def test_a_refusal_by_the_broker_is_raised() -> None:
    loop = asyncio.get_running_loop()
    published: asyncio.Future[None] = loop.create_future()
    published.set_exception(PublishRefused("not authorized"))
    answer: asyncio.Future[str] = loop.create_future()
    with pytest.raises(PublishRefused, match="not authorized"):
        await answer_to(published, answer, 5)
    assert answer.cancelled(), "nothing is left waiting"


async def test_neither_in_time_is_a_timeout() -> None:
    loop = asyncio.get_running_loop()
    published: asyncio.Future[None] = loop.create_future()
    answer: asyncio.Future[str] = loop.create_future()
    loop.call_later(0.01, published.set_result, None)  # acknowledged, never answered
    with pytest.raises(TimeoutError):
        await answer_to(published, answer, 0.2)
