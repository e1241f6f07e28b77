"""Two clients with one client id share one session at the broker and throw each other off,
several times a second, for as long as both run. Each session tells it once (a warning naming
the client id and the fix), not a line per throw, and knows when the session holds again.
Against a real mosquitto, over MQTT 5 (mosquitto 2.0.11 closes the old link without a
reason code) and 3.1.1 (which has none to give); the broker's reason code 142 alone is enough."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading

import pytest

from edge.demo.local_broker import LocalBroker, free_port
from sync import broker_refusal
from sync.broker_refusal import (
    CONFIG_SETTINGS,
    OPTION_SETTINGS,
    TAKEN_OVER,
    MqttProtocol,
    SessionTakeover,
)
from sync.broker_url import BrokerAddress
from sync.mqtt_session import MqttSession
from tests.conftest import eventually

URL = "mqtt://127.0.0.1:1883"
UNSPECIFIED = 0x80  # what paho reports for a link the broker closed without a word
PACKET_TOO_LARGE = 0x95  # a broker with max_packet_size closes the link with it


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and r.name == "sync.broker_refusal"
    ]


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
async def test_two_sessions_with_one_client_id_are_told_once_and_hold_once_one_is_gone(
    broker: LocalBroker,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    protocol: MqttProtocol,
) -> None:
    monkeypatch.setattr(broker_refusal, "HOLD_SECONDS", 1.0)
    caplog.set_level(logging.INFO)
    address = BrokerAddress.parse(broker.url)
    first = MqttSession(address, "rxedge-north-ward-1", protocol=protocol)
    second = MqttSession(address, "rxedge-north-ward-1", protocol=protocol)
    await first.start()
    await first.connected.wait()
    await second.start()
    try:
        await eventually(
            lambda: first.takeover.taken_over.is_set() and second.takeover.taken_over.is_set(),
            what="both sessions told the session is taken over",
        )
        throws = first.takeover.signs + second.takeover.signs
        await eventually(
            lambda: first.takeover.signs + second.takeover.signs >= throws + 8,
            what="the two throwing each other off on",
        )
        told = warnings(caplog)
        assert len(told) == 2, "once by each session, not once a throw"
        for line in told:
            assert "another client" in line and "'rxedge-north-ward-1'" in line
            assert "broker.client_id" in line and "--client-id" in line
        quiet = [
            r
            for r in caplog.records
            if r.levelno >= logging.INFO and "disconnected from" in r.getMessage()
        ]
        assert len(quiet) < 2 * broker_refusal.SHORT_LINKS + 2, "no INFO line for each throw"
        await second.stop()
        await eventually(first.takeover.held.is_set, what="the session held again")
        assert not first.takeover.taken_over.is_set()
        assert first.connected.is_set()
    finally:
        await first.stop()
        await second.stop()


async def test_the_brokers_reason_alone_is_a_takeover() -> None:
    takeover = SessionTakeover("clerk-1")
    takeover.link_up()
    assert takeover.link_down(URL, TAKEN_OVER) is True
    assert takeover.taken_over.is_set() and not takeover.held.is_set()
    said = takeover.message(OPTION_SETTINGS)
    assert said.startswith(
        f"broker {URL} closed the link: session taken over by another client with client id "
        "'clerk-1'"
    )
    assert said.endswith("stop the other client, or give each its own --client-id")
    assert "broker.client_id" in takeover.message(CONFIG_SETTINGS)
    takeover.stop()


async def test_a_link_dropped_once_or_twice_or_after_a_while_is_no_takeover(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A broker restarting, a lost network: the link goes, but not right after each connect,
    three times in a row."""
    monkeypatch.setattr(broker_refusal, "SHORT_LINK_SECONDS", 0.2)
    takeover = SessionTakeover("rxedge-s1-g1")
    for _ in range(broker_refusal.SHORT_LINKS - 1):
        takeover.link_up()
        assert takeover.link_down(URL, UNSPECIFIED) is False
    takeover.link_up()
    await asyncio.sleep(0.3)  # a link that held a while ends the run of short ones
    assert takeover.link_down(URL, UNSPECIFIED) is False
    for _ in range(broker_refusal.SHORT_LINKS - 1):
        takeover.link_up()
        assert takeover.link_down(URL, UNSPECIFIED) is False
    assert not takeover.taken_over.is_set()
    takeover.link_up()
    assert takeover.link_down(URL, UNSPECIFIED) is True
    assert "most likely another client connects with client id 'rxedge-s1-g1'" in (
        takeover.message()
    )
    takeover.stop()


async def test_a_failed_connect_between_short_links_is_a_restart_not_a_takeover() -> None:
    """A broker restarting refuses the connect attempts meanwhile; a takeover's never does."""
    takeover = SessionTakeover("clerk-1")
    for _ in range(4):
        for _ in range(broker_refusal.SHORT_LINKS - 1):
            takeover.link_up()
            assert takeover.link_down(URL, UNSPECIFIED) is False
        takeover.connect_failed(URL)
        assert takeover.unreachable
    assert not takeover.taken_over.is_set()
    takeover.link_up()
    assert not takeover.unreachable
    takeover.stop()


async def test_a_link_closed_for_a_reason_of_the_brokers_own_is_no_takeover_and_is_told(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Packet too large (149), said by the broker each time it closes the link: logged at INFO
    each time, never read as a takeover."""
    caplog.set_level(logging.INFO)
    session = MqttSession(BrokerAddress.parse(URL), "rxedge-s1-g1")
    for _ in range(broker_refusal.SHORT_LINKS + 2):
        session._set_connected(True)
        session._lost(URL, PACKET_TOO_LARGE, "Packet too large", True, threading.Event())
    told = [
        r for r in caplog.records if r.levelno == logging.INFO and "Packet too large" in r.message
    ]
    assert len(told) == broker_refusal.SHORT_LINKS + 2
    assert not session.takeover.taken_over.is_set() and warnings(caplog) == []
    # Such a broker often closes the link before its reason reaches us: unspecified then.
    for _ in range(broker_refusal.SHORT_LINKS + 2):
        session._set_connected(True)
        session._lost(URL, UNSPECIFIED, "Unspecified error", False, threading.Event())
    assert not session.takeover.taken_over.is_set()
    session.takeover.stop()


@pytest.mark.parametrize("persistent", [True, False])
async def test_a_takeover_is_told_though_another_of_the_brokers_is_down(
    broker: LocalBroker, persistent: bool
) -> None:
    """Given several brokers, paho moves on to the next after each lost link: the attempt on
    the one that is down fails, which says nothing about the live one, whose links the other
    client goes on closing."""
    brokers = [
        BrokerAddress.parse(broker.url),
        BrokerAddress.parse(f"mqtt://127.0.0.1:{free_port()}"),
    ]
    first = MqttSession(brokers, "clerk-1", persistent=persistent)
    second = MqttSession(brokers, "clerk-1", persistent=persistent)
    await first.start()
    await eventually(first.connected.is_set, what="the first session connected")
    await second.start()
    try:
        await eventually(
            lambda: first.takeover.taken_over.is_set() and second.takeover.taken_over.is_set(),
            timeout=20,
            what="both sessions told the session is taken over",
        )
        assert broker.url in first.takeover.message()
    finally:
        await first.stop()
        await second.stop()


async def test_a_broker_restarted_at_once_again_and_again_is_no_takeover_of_a_kept_session(
    broker: LocalBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """A broker killed and up again within a moment (systemd's Restart=on-failure with a short
    RestartSec), each time within seconds of the link it gave, though not within a second:
    paho's first retry finds it up, so no connect attempt fails between the short links. The
    session is gone with the crash (the CONNACK says so) after a link that held a while, where
    a takeover hands it over whole."""
    caplog.set_level(logging.INFO)
    session = MqttSession(BrokerAddress.parse(broker.url), "rxedge-s1-g1")
    await session.start()
    try:
        await eventually(session.connected.is_set, what="the session connected")
        for _ in range(broker_refusal.SHORT_LINKS + 1):
            links = session.connects
            broker.kill()
            await broker.start()
            await eventually(lambda n=links: session.connects > n, timeout=5, what="the link back")
            await asyncio.sleep(broker_refusal.RESTART_LINK_SECONDS)  # up a while, then again
        failed = [r.getMessage() for r in caplog.records if r.name == "sync.mqtt_session"]
        assert not [f for f in failed if "could not connect" in f or "refused" in f], failed
        assert not session.takeover.taken_over.is_set(), session.takeover.message()
        assert warnings(caplog) == []
    finally:
        await session.stop()


async def test_a_link_paho_gave_up_on_opens_no_window_for_the_brokers_reason(
    broker: LocalBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """paho's own Keep alive timeout (141), for a broker that stopped answering, is no reason
    the broker gave: a takeover right after it is told within seconds."""
    caplog.set_level(logging.INFO)
    address = BrokerAddress.parse(broker.url)
    first = MqttSession(address, "clerk-1", keepalive=1)
    second = MqttSession(address, "clerk-1", keepalive=1)
    await first.start()
    try:
        await eventually(first.connected.is_set, what="the first session connected")
        assert broker._process is not None
        pid = broker._process.pid
        os.kill(pid, signal.SIGSTOP)  # mute, as a hung broker is
        try:
            await eventually(lambda: not first.connected.is_set(), what="paho gave up the link")
        finally:
            os.kill(pid, signal.SIGCONT)
        assert any("Keep alive timeout" in r.getMessage() for r in caplog.records)
        await eventually(first.connected.is_set, what="the first session back")
        await second.start()
        await eventually(
            first.takeover.taken_over.is_set, timeout=15, what="the first session told"
        )
    finally:
        await first.stop()
        await second.stop()


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
@pytest.mark.parametrize("intruder", ["mosquitto_sub", "clean start"])
async def test_a_client_that_keeps_no_session_taking_over_a_kept_one_is_told(
    broker: LocalBroker, protocol: MqttProtocol, intruder: str
) -> None:
    """A stray `mosquitto_sub -i <the gateway's id>` (no -c), or any client that starts clean:
    the broker empties our session each time it connects, so each of our links comes back
    without it, as after a broker's restart; but within that client's reconnect delay (1 s,
    paho's 0.25 s), where a broker restarted again and again stays up a while in between."""
    address = BrokerAddress.parse(broker.url)
    session = MqttSession(
        address, "rxedge-north-ward-1", protocol=protocol, subscriptions=["rxedge/v1/+/+/cmd/+"]
    )
    other = MqttSession(address, "rxedge-north-ward-1", persistent=False)
    process: asyncio.subprocess.Process | None = None
    await session.start()
    try:
        await eventually(session.connected.is_set, what="the session connected")
        if intruder == "mosquitto_sub":
            process = await asyncio.create_subprocess_exec(
                *("mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port)),
                *("-i", "rxedge-north-ward-1", "-t", "rxedge/#"),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
        else:
            await other.start()
        await eventually(
            session.takeover.taken_over.is_set, timeout=15, what="the session told it is taken over"
        )
        assert "'rxedge-north-ward-1'" in session.takeover.message()
    finally:
        if process is not None:
            process.kill()
            await process.wait()
        await other.stop()
        await session.stop()
