"""The broker's part of the line `systemctl status` shows, against a real mosquitto that wants
a password: connected, refusing the gateway's account (which no retry cures: the fix is in the
credentials), or not there at all; and `rxedge status` saying why, read from a running
gateway's metrics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge.daemon.devices import Devices
from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker, free_port, write_password_file
from edge.service.heartbeat_sources import DOWN_NAMED, NAME_CHARS, _named, describe
from edge.service.metrics_collector import connect_error
from edge.service.metrics_scrape import scrape
from edge.settings.config import parse_config
from sync.broker_security import BrokerSecurity
from sync.broker_url import BrokerAddress
from sync.mqtt_session import MqttSession
from tests.conftest import eventually
from tests.edge.test_metrics import rxedge_status

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


async def test_the_connect_error_names_the_broker_that_failed_not_every_one_configured(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Two brokers, neither there: the exported error names the one the last attempt was made
    to, as the journal does, not both (one broker's failure shown against the other)."""
    urls = [f"mqtt://127.0.0.1:{free_port()}" for _ in range(2)]
    session = MqttSession([BrokerAddress.parse(u) for u in urls], "status-line")
    await session.start()
    try:
        await eventually(lambda: session.last_failure is not None, what="a failed attempt")
        error = connect_error(session)
    finally:
        await session.stop()
    assert error is not None and error.startswith("broker mqtt://"), error
    url, what = error.removeprefix("broker ").split(": ", 1)
    assert url in urls and what.startswith("could not connect: "), error
    assert f"broker {url}: {what}" in caplog.messages, "as the journal says it"


async def test_status_says_why_the_broker_refuses_the_gateway(
    guarded: LocalBroker, tmp_path: Path
) -> None:
    """The journal's words, with the setting that fixes it, not a bare NOT CONNECTED."""
    secret = tmp_path / "mqtt-password"
    secret.write_text("wrong-password\n")
    secret.chmod(0o600)
    settings = {
        "site": "s1",
        "gateway": "g1",
        "database": str(tmp_path / "ledger.sqlite"),
        "create_database": True,
        "broker": {"url": guarded.url, "username": USER, "password_file": str(secret)},
        "metrics": {"listen": "127.0.0.1:0"},
    }
    gateway = Gateway(parse_config(settings), observer=lambda _activity: None)
    task = asyncio.create_task(gateway.run())
    try:
        await eventually(lambda: gateway.metrics.url, what="the endpoint")
        url = gateway.metrics.url
        assert url is not None

        def error() -> list[object]:
            return scrape(url).series("rxedge_mqtt_connect_error_info")

        await eventually(lambda: asyncio.to_thread(error), what="the refusal exported")
        code, out = await rxedge_status("--metrics", url, "--interval", "0")
        assert code == 1, out
        assert "mqtt: NOT CONNECTED (0 reconnects)" in out
        assert (
            f"  - not connected to the MQTT broker: broker {guarded.url} refused the account "
            "(not authorized): check broker.username and the password in broker.password_file"
        ) in out
    finally:
        gateway.stop()
        await asyncio.wait_for(task, 10)


def test_the_status_line_names_a_few_devices_down_and_counts_the_rest() -> None:
    names = [f"shelf-{n}" for n in range(DOWN_NAMED + 2)] + ["x" * (NAME_CHARS + 10)]
    assert _named(names[:1]) == "shelf-0"
    assert _named(names) == "shelf-0, shelf-1, shelf-2 and 3 more"
    long = _named(names[-1:])
    assert len(long) == NAME_CHARS and long.endswith("...")
