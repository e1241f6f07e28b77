"""MQTT security against a real mosquitto: the broker checked against a CA (and by name), client
certificates where the listener requires them, passwords; and the rules for password files and
for plain text."""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import shutil
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.demo.local_broker import LocalBroker, TlsListener, write_password_file
from sync.broker_refusal import CONFIG_SETTINGS, Refused
from sync.broker_security import (
    BrokerSecretError,
    BrokerSecurity,
    is_loopback,
    password_file_problem,
    pem_file_problem,
    plain_text_problem,
    read_password_file,
)
from sync.broker_url import BrokerAddress
from sync.mqtt_session import MqttSession
from tests.broker_pki import BrokerPki, Issued, make_pki
from tests.conftest import eventually

USER, PASSWORD = "s1/a", "secret-a"


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> BrokerPki:
    return make_pki(tmp_path_factory.mktemp("pki"))


async def started(
    tmp_path: Path, pki: BrokerPki, server: Issued | None = None, require_certificate: bool = False
) -> LocalBroker:
    """A mosquitto with a TLS listener (and its plain one) that wants USER's password."""
    server = server or pki.server
    broker = LocalBroker(
        tmp_path / "broker",
        tls=TlsListener(pki.ca.ca_file, server.cert_file, server.key_file, require_certificate),
        password_file=write_password_file(tmp_path / "passwd", {USER: PASSWORD}),
    )
    await broker.start()
    return broker


@pytest.fixture
async def tls_broker(tmp_path: Path, pki: BrokerPki) -> AsyncIterator[LocalBroker]:
    broker = await started(tmp_path, pki)
    yield broker
    await broker.stop()


def probe(url: str, security: BrokerSecurity, timeout: float = 5.0) -> str:
    """Connect once with paho, set up by `security`: "connected", or how the attempt ended
    (the broker's refusal, the connection closed, or the TLS error)."""
    broker = BrokerAddress.parse(url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="probe", protocol=mqtt.MQTTv5)
    security.apply(client, broker)
    outcome: queue.Queue[str] = queue.Queue()
    client.on_connect = lambda _c, _u, _f, reason, _p: outcome.put(
        f"refused: {reason}" if reason.is_failure else "connected"
    )
    client.on_disconnect = lambda _c, _u, _f, reason, _p: outcome.put(f"closed: {reason}")
    try:
        client.connect(broker.host, broker.port, keepalive=5)
    except (ssl.SSLError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"
    deadline = time.monotonic() + timeout
    try:
        while outcome.empty() and time.monotonic() < deadline:
            code = client.loop(timeout=0.05)
            if code != mqtt.MQTT_ERR_SUCCESS and outcome.empty():
                return f"closed: {mqtt.error_string(code)}"
        return outcome.get_nowait() if not outcome.empty() else "no answer"
    finally:
        client.disconnect()


def gateway_a(pki: BrokerPki, **changes: Any) -> BrokerSecurity:
    """Gateway A's settings (the right CA, username and password), with `changes`."""
    return replace(
        BrokerSecurity(ca_file=pki.ca.ca_file, username=USER, password=PASSWORD), **changes
    )


async def test_the_session_checks_the_broker_against_its_ca_and_publishes(
    tls_broker: LocalBroker, pki: BrokerPki
) -> None:
    address = BrokerAddress.parse(tls_broker.tls_url)
    received: list[tuple[str, bytes]] = []
    listener = MqttSession(
        address,
        "listener",
        security=gateway_a(pki),
        subscriptions=["rxedge/v1/s1/a/#"],
        on_message=lambda topic, payload: received.append((topic, payload)),
        persistent=False,
    )
    session = MqttSession(address, "gateway-a", security=gateway_a(pki), persistent=False)
    await listener.start()
    await session.start()
    try:
        await asyncio.wait_for(listener.subscribed.wait(), 5)
        await asyncio.wait_for(session.connected.wait(), 5)
        await asyncio.wait_for(session.publish("rxedge/v1/s1/a/status", "online"), 5)
        await eventually(lambda: received, timeout=5, what="the message over TLS")
    finally:
        await session.stop()
        await listener.stop()
    assert received == [("rxedge/v1/s1/a/status", b"online")]


async def test_a_broker_that_its_ca_did_not_sign_or_that_has_another_name_is_refused(
    tmp_path: Path, tls_broker: LocalBroker, pki: BrokerPki
) -> None:
    url = tls_broker.tls_url
    assert await asyncio.to_thread(probe, url, gateway_a(pki)) == "connected"
    assert await asyncio.to_thread(probe, url.replace("127.0.0.1", "localhost"), gateway_a(pki))
    other_ca = await asyncio.to_thread(probe, url, gateway_a(pki, ca_file=pki.other_ca.ca_file))
    assert other_ca.startswith("SSLCertVerificationError") and "self-signed" in other_ca
    # Without ca_file the system's CAs decide, and they do not know this private CA.
    system = await asyncio.to_thread(probe, url, gateway_a(pki, ca_file=None))
    assert system.startswith("SSLCertVerificationError")
    # A certificate from the right CA, but for another name.
    elsewhere = await started(tmp_path / "elsewhere", pki, server=pki.server_elsewhere)
    try:
        wrong_name = await asyncio.to_thread(probe, elsewhere.tls_url, gateway_a(pki))
    finally:
        await elsewhere.stop()
    assert wrong_name.startswith("SSLCertVerificationError") and "127.0.0.1" in wrong_name


async def test_plain_text_to_the_tls_listener_is_refused(tls_broker: LocalBroker) -> None:
    plain = tls_broker.tls_url.replace("mqtts://", "mqtt://")
    outcome = await asyncio.to_thread(
        probe, plain, BrokerSecurity(username=USER, password=PASSWORD)
    )
    assert outcome != "connected"


async def test_a_wrong_or_missing_password_is_refused(
    tls_broker: LocalBroker, pki: BrokerPki
) -> None:
    url = tls_broker.tls_url
    wrong = await asyncio.to_thread(probe, url, gateway_a(pki, password="guess"))
    assert wrong == "refused: Not authorized"
    anonymous = await asyncio.to_thread(probe, url, gateway_a(pki, username=None, password=None))
    assert anonymous == "refused: Not authorized"
    assert await asyncio.to_thread(probe, url, gateway_a(pki)) == "connected"


async def test_a_refused_session_keeps_trying_and_says_why_once(
    tls_broker: LocalBroker, pki: BrokerPki, caplog: pytest.LogCaptureFixture
) -> None:
    address = BrokerAddress.parse(tls_broker.tls_url)
    sessions = [
        MqttSession(address, "wrong-password", security=gateway_a(pki, password="x")),
        MqttSession(address, "wrong-ca", security=gateway_a(pki, ca_file=pki.other_ca.ca_file)),
    ]
    caplog.set_level(logging.DEBUG, logger="sync.mqtt_session")
    for session in sessions:
        await session.start()
    try:
        await asyncio.sleep(1.5)  # a few attempts each
        assert not any(session.connected.is_set() for session in sessions)
    finally:
        for session in sessions:
            await session.stop()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "could not connect" in warnings[0] and "CERTIFICATE_VERIFY_FAILED" in warnings[0]
    # A lasting refusal is held for the session's owner to tell once, naming the fix.
    refused = sessions[0].refusal
    assert refused is not None and refused.what is Refused.CREDENTIALS
    assert refused.message(CONFIG_SETTINGS) == (
        f"broker {tls_broker.tls_url} refused the account (not authorized): check "
        "broker.username and the password in broker.password_file (or the client certificate) "
        "against the broker's accounts"
    )
    assert sessions[1].refusal is None  # a TLS failure is not the broker's answer
    assert len(caplog.records) > 2, "the repeats are logged, quietly"


async def test_a_client_certificate_from_the_ca_is_required_where_the_listener_says_so(
    tmp_path: Path, pki: BrokerPki
) -> None:
    broker = await started(tmp_path, pki, require_certificate=True)
    url = broker.tls_url
    try:
        without = await asyncio.to_thread(probe, url, gateway_a(pki))
        stranger = await asyncio.to_thread(
            probe,
            url,
            gateway_a(pki, cert_file=pki.stranger.cert_file, key_file=pki.stranger.key_file),
        )
        with_certificate = await asyncio.to_thread(
            probe,
            url,
            gateway_a(pki, cert_file=pki.gateway_a.cert_file, key_file=pki.gateway_a.key_file),
        )
    finally:
        await broker.stop()
    assert without != "connected"
    assert stranger != "connected"
    assert with_certificate == "connected"


def test_tls_files_for_a_plain_text_broker_are_refused_before_connecting(pki: BrokerPki) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    with pytest.raises(ValueError, match="plain text"):
        gateway_a(pki).apply(client, BrokerAddress.parse("mqtt://127.0.0.1:1883"))
    with pytest.raises(ValueError, match="needs its certificate"):
        gateway_a(pki, key_file=Path("k.pem")).apply(client, BrokerAddress.parse("mqtts://h"))
    with pytest.raises(ValueError, match="needs a username"):
        BrokerSecurity(password="x").apply(client, BrokerAddress.parse("mqtts://h"))
    assert PASSWORD not in repr(gateway_a(pki))


def test_password_files_readable_by_the_service_user_alone(tmp_path: Path) -> None:
    secret = tmp_path / "mqtt-password"
    assert "does not exist" in str(password_file_problem(secret))
    secret.write_text("s3cret\n")
    for mode in (0o644, 0o640, 0o604, 0o660, 0o602):
        secret.chmod(mode)
        problem = str(password_file_problem(secret))
        assert f"mode {mode:04o}" in problem and f"chmod 600 {secret}" in problem
        with pytest.raises(BrokerSecretError):
            read_password_file(secret)
    for mode in (0o600, 0o400):
        secret.chmod(mode)
        assert password_file_problem(secret) is None
        assert read_password_file(secret) == "s3cret"
    secret.chmod(0o600)
    secret.write_text("\n")
    assert "is empty" in str(password_file_problem(secret))
    assert "not a file" in str(password_file_problem(tmp_path))


def test_pem_files_and_private_keys(tmp_path: Path, pki: BrokerPki) -> None:
    assert pem_file_problem(pki.ca.ca_file) is None
    assert pem_file_problem(pki.gateway_a.key_file, private=True) is None
    assert "does not exist" in str(pem_file_problem(tmp_path / "none.pem"))
    text = tmp_path / "not.pem"
    text.write_text("hello")
    assert "not a PEM file" in str(pem_file_problem(text))
    open_key = tmp_path / "open.key"
    open_key.write_bytes(pki.gateway_a.key_file.read_bytes())
    open_key.chmod(0o644)
    assert "chmod 600" in str(pem_file_problem(open_key, private=True))
    open_key.chmod(0o640)  # a group of the service's may read it
    assert pem_file_problem(open_key, private=True) is None


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("mqtt://127.0.0.1:1883", True),
        ("mqtt://127.10.20.30", True),
        ("mqtt://[::1]:1883", True),
        ("mqtt://localhost:1883", True),
        ("mqtt://LOCALHOST", True),
        ("mqtts://broker.example.net", True),
        ("mqtts://10.0.0.5", True),
        ("mqtt://10.0.0.5:1883", False),
        ("mqtt://broker.example.net", False),
        ("mqtt://[2001:db8::1]:1883", False),
        ("mqtt://localhost.example.net", False),
        ("mqtt://128.0.0.1", False),
    ],
)
def test_plain_text_is_safe_only_to_this_machine(url: str, safe: bool) -> None:
    address = BrokerAddress.parse(url)
    assert (plain_text_problem(address) is None) is safe
    if not address.tls:
        assert is_loopback(address.host) is safe


def test_the_password_file_is_written_without_a_password_on_any_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ps` shows every user of the machine each process's arguments: mosquitto_passwd is run
    with the file's name only (its `-U` hashes a plain file only its owner could read)."""
    calls = tmp_path / "calls"
    wrapper = tmp_path / "mosquitto_passwd"
    real = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexec {real} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    written = write_password_file(tmp_path / "passwd", {USER: PASSWORD, "other": "s3cret-2"})
    said = calls.read_text()
    assert said and PASSWORD not in said and "s3cret-2" not in said, said
    lines = written.read_text().splitlines()
    assert [line.split(":")[0] for line in lines] == [USER, "other"]
    assert all(line.split(":", 1)[1].startswith("$") for line in lines), "hashed"
    assert written.stat().st_mode & 0o077 == 0
