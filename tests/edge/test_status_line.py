"""The broker's part of the line `systemctl status` shows, against a real mosquitto that wants
a password: connected, refusing the gateway's account (which no retry cures: the fix is in the
credentials), or not there at all."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge.daemon.devices import Devices
from edge.demo.local_broker import LocalBroker, free_port, write_password_file
from edge.service.heartbeat_sources import describe
from sync.broker_security import BrokerSecurity
from sync.broker_url import BrokerAddress
from sync.mqtt_session import MqttSession
from tests.conftest import eventually

USER, PASSWORD = "pharmacy-0042/gw-1", "right-password"


@pytest.fixture
async def guarded(tmp_path: Path) -> AsyncIterator[LocalBroker]:
    """A mosquitto that lets in USER with PASSWORD only."""
    broker = LocalBroker(
        tmp_path / "broker",
        password_file=write_password_file(tmp_path / "passwd", {USER: PASSWORD}),
    )
    await broker.start()
    yield broker
    await broker.stop()


async def status_with(url: str, password: str) -> tuple[MqttSession, str]:
    """A started session with `password`, and the status line once the broker has answered it
    (or it has tried for a while)."""
    security = BrokerSecurity(username=USER, password=password)
    session = MqttSession(BrokerAddress.parse(url), "status-line", security=security)
    await session.start()
    await eventually(
        lambda: session.connected.is_set() or session.refused.is_set(), what="an answer"
    )
    return session, describe(Devices(), session, 0)


async def test_a_refused_account_is_said_as_refused_not_unreachable(guarded: LocalBroker) -> None:
    session, status = await status_with(guarded.url, "wrong-password")
    try:
        assert (
            status == "serving: no devices, broker refused the account (not authorized), outbox 0"
        )
    finally:
        await session.stop()
    session, status = await status_with(guarded.url, PASSWORD)
    try:
        assert status == "serving: no devices, broker connected, outbox 0"
    finally:
        await session.stop()


async def test_a_broker_that_is_not_there_is_unreachable() -> None:
    url = f"mqtt://127.0.0.1:{free_port()}"  # nothing listens there
    session = MqttSession(BrokerAddress.parse(url), "status-line")
    await session.start()
    try:
        assert (
            describe(Devices(), session, 3) == "serving: no devices, broker unreachable, outbox 3"
        )
    finally:
        await session.stop()
