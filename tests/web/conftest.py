"""The page's tests run on one event loop per test process, the one loop where the Playwright
driver and Chromium shared by them all live (page_rig.py): starting them costs seconds, which
every test paid. Their async fixtures run on that loop too (a fixture on a loop of its own
would start what the test uses on another loop, and the check for tasks left behind would
look at the wrong one)."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from pytest_asyncio import is_async_test

from edge.demo.local_broker import LocalBroker
from tests.conftest import fail_on_tasks_left
from tests.web.page_rig import Shared, shared_chromium

HERE = Path(__file__).parent
LOOP = "session"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """This folder's async tests on the shared loop; an async fixture of theirs on another
    loop is refused, naming it."""
    shared = pytest.mark.asyncio(loop_scope=LOOP)
    for item in items:
        if not item.path.is_relative_to(HERE) or not is_async_test(item):
            continue
        item.add_marker(shared, append=False)
        for name, defs in item._fixtureinfo.name2fixturedefs.items():
            func = defs[-1].func
            asynchronous = inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func)
            if asynchronous and getattr(func, "_loop_scope", None) != LOOP:
                raise pytest.UsageError(
                    f"{item.nodeid}: async fixture {name!r} must run on the tests' shared "
                    f'loop: @pytest_asyncio.fixture(loop_scope="{LOOP}")'
                )


@pytest_asyncio.fixture(scope="session", loop_scope=LOOP, autouse=True)
async def shared_browser() -> AsyncIterator[None]:
    async with shared_chromium():
        yield


@pytest_asyncio.fixture(loop_scope=LOOP, autouse=True)
async def no_task_left_behind() -> AsyncIterator[None]:
    """tests/conftest.py's check, on the shared loop: the driver's own tasks are spared."""
    yield
    await fail_on_tasks_left(spared=Shared.tasks)


@pytest_asyncio.fixture(loop_scope=LOOP)
async def broker(tmp_path: Path) -> AsyncIterator[LocalBroker]:
    """tests/conftest.py's private mosquitto, started on the shared loop."""
    server = LocalBroker(tmp_path / "broker")
    await server.start()
    yield server
    server.kill()
