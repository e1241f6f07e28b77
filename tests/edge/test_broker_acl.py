"""Per-gateway accounts on a real mosquitto running config/mosquitto-acl.example over TLS: the
gateway daemon runs under its own account and takes commands from the procurement account;
gateway A can neither publish into gateway B's topics (MQTT 5 PUBACK: not authorized) nor
receive B's commands; the clerk's tools read every gateway's requests and answer each one."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge.cli.main import main
from edge.cli.procurement.watch import WatchOptions, watch
from edge.demo.local_broker import LocalBroker, TlsListener, find_mosquitto, free_port
from edge.demo.local_broker import write_password_file as hashed_passwords
from sync.broker_security import BrokerSecurity
from sync.broker_url import BrokerAddress
from sync.errors import PublishRefused
from sync.mqtt_session import MqttSession
from tests.broker_pki import BrokerPki, make_pki
from tests.conftest import eventually
from tests.edge.procurement_rig import gtin_of, request_message, start_gateway, stop_gateway

ROOT = Path(__file__).resolve().parents[2]
ACL = ROOT / "config" / "mosquitto-acl.example"
TLS_CONF = ROOT / "config" / "mosquitto-tls.conf.example"
PASSWORDS = {"s1/a": "pass-a", "s1/b": "pass-b", "procurement": "pass-p", "monitor": "pass-m"}
A, B = "rxedge/v1/s1/a", "rxedge/v1/s1/b"
GATEWAY_SENDS = ("status", "procurement/request", "alarms/shortage-x", "cmd-result", "events")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> BrokerPki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
async def broker(tmp_path: Path, pki: BrokerPki) -> AsyncIterator[LocalBroker]:
    """TLS, passwords and the example ACL file, as the central broker runs them."""
    server = LocalBroker(
        tmp_path / "broker",
        tls=TlsListener(pki.ca.ca_file, pki.server.cert_file, pki.server.key_file),
        password_file=hashed_passwords(tmp_path / "passwd", PASSWORDS),
        acl_file=ACL,
    )
    await server.start()
    yield server
    await server.stop()


def secret(directory: Path, user: str) -> Path:
    """`user`'s password in a file of its own, readable by its owner only."""
    path = directory / f"{user.replace('/', '-')}.password"
    path.write_text(PASSWORDS[user] + "\n")
    path.chmod(0o600)
    return path


def account(pki: BrokerPki, user: str) -> BrokerSecurity:
    return BrokerSecurity(ca_file=pki.ca.ca_file, username=user, password=PASSWORDS[user])


class Client:
    """An MQTT 5 session under one account, keeping what it receives."""

    def __init__(self, url: str, security: BrokerSecurity, *subscriptions: str):
        self.received: list[tuple[str, bytes]] = []
        self.subscribes = bool(subscriptions)
        self.session = MqttSession(
            BrokerAddress.parse(url),
            f"test-{security.username}-{len(subscriptions)}".replace("/", "-"),
            security=security,
            subscriptions=subscriptions,
            on_message=lambda topic, payload: self.received.append((topic, payload)),
            persistent=False,
        )

    async def __aenter__(self) -> Client:
        await self.session.start()
        await asyncio.wait_for(self.session.connected.wait(), 5)
        if self.subscribes:
            await asyncio.wait_for(self.session.subscribed.wait(), 5)
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.session.stop()

    async def publish(self, topic: str, payload: str = "{}") -> str:
        """ "ok", or the broker's refusal."""
        try:
            await asyncio.wait_for(self.session.publish(topic, payload), 5)
        except PublishRefused as refused:
            return str(refused)
        return "ok"

    def topics(self) -> list[str]:
        return [topic for topic, _ in self.received]


async def test_the_gateway_runs_over_tls_under_its_account_and_takes_the_centres_commands(
    broker: LocalBroker, pki: BrokerPki, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = {
        "site": "s1",
        "gateway": "a",
        "database": str(tmp_path / "ledger.sqlite"),
        "create_database": True,
        "broker": {
            "url": broker.tls_url,
            "ca_file": str(pki.ca.ca_file),
            "username": "s1/a",
            "password_file": str(secret(tmp_path, "s1/a")),
        },
    }
    locate = ["locate", gtin_of(20001), "--broker", broker.tls_url, "--site", "s1"]
    locate += ["--gateway", "a", "--ca-file", str(pki.ca.ca_file)]
    async with Client(broker.tls_url, account(pki, "monitor"), "rxedge/v1/#") as monitor:
        gateway, task = await start_gateway(settings)
        try:
            await eventually(
                lambda: (f"{A}/status", b"online") in monitor.received, what="the gateway online"
            )
            as_clerk = [*locate, "--username", "procurement"]
            as_clerk += ["--password-file", str(secret(tmp_path, "procurement"))]
            assert await asyncio.to_thread(main, as_clerk) == 0
            assert "no usable pack on the shelves" in capsys.readouterr().out
            # The gateway's own account may not send it commands.
            as_gateway = [*locate, "--username", "s1/a"]
            as_gateway += ["--password-file", str(secret(tmp_path, "s1/a"))]
            assert await asyncio.to_thread(main, as_gateway) == 3
            assert "Not authorized" in capsys.readouterr().err
        finally:
            await stop_gateway(gateway, task)
    assert all(topic.startswith(f"{A}/") for topic in monitor.topics())


async def test_gateway_a_cannot_publish_into_gateway_b_topics_nor_command_itself(
    broker: LocalBroker, pki: BrokerPki
) -> None:
    async with (
        Client(broker.tls_url, account(pki, "monitor"), "rxedge/v1/#") as monitor,
        Client(broker.tls_url, account(pki, "s1/a")) as gateway_a,
    ):
        for suffix in GATEWAY_SENDS:
            assert await gateway_a.publish(f"{A}/{suffix}") == "ok", suffix
            assert await gateway_a.publish(f"{B}/{suffix}") == "Not authorized", suffix
        for forged in (f"{A}/cmd/pick", f"{A}/procurement/status", f"{B}/cmd/pick"):
            assert await gateway_a.publish(forged) == "Not authorized", forged
        await eventually(lambda: len(monitor.received) >= len(GATEWAY_SENDS), what="A's own")
        await asyncio.sleep(0.2)  # anything let through would have arrived by now
    assert sorted(monitor.topics()) == sorted(f"{A}/{suffix}" for suffix in GATEWAY_SENDS)


async def test_gateway_a_receives_neither_b_commands_nor_b_answers(
    broker: LocalBroker, pki: BrokerPki
) -> None:
    url = broker.tls_url
    snooping = (f"{B}/cmd/+", f"{B}/procurement/status", "rxedge/v1/+/+/procurement/request")
    async with (
        Client(url, account(pki, "s1/a"), f"{A}/cmd/+", f"{A}/procurement/status", *snooping) as a,
        Client(url, account(pki, "s1/a"), "rxedge/v1/#", "$share/x/rxedge/v1/#") as wide,
        Client(url, account(pki, "s1/b"), f"{B}/cmd/+") as b,
        Client(url, account(pki, "procurement")) as centre,
    ):
        assert await b.publish(f"{B}/procurement/request", "{}") == "ok"
        for prefix in (B, A):
            assert await centre.publish(f"{prefix}/cmd/locate") == "ok"
            assert await centre.publish(f"{prefix}/procurement/status") == "ok"
        await eventually(lambda: b.received and len(a.received) >= 2, what="each its own")
        await asyncio.sleep(0.2)  # anything let through would have arrived by now
    assert sorted(a.topics()) == [f"{A}/cmd/locate", f"{A}/procurement/status"]
    assert set(wide.topics()) == set(a.topics())  # each twice: plain and shared
    assert b.topics() == [f"{B}/cmd/locate"]


async def test_a_gateway_reads_back_its_own_retained_alarms_and_no_other_gateways(
    broker: LocalBroker, pki: BrokerPki
) -> None:
    """What a gateway puts right after a broker crash it must first read (docs/mqtt.md)."""
    state = '{"state":"raised"}'
    async with Client(broker.tls_url, account(pki, "s1/b")) as b:
        await asyncio.wait_for(b.session.publish(f"{B}/alarms/x", state, retain=True), 5)
    a = MqttSession(
        BrokerAddress.parse(broker.tls_url),
        "test-reads-a",
        security=account(pki, "s1/a"),
        persistent=False,
        reads=[f"{A}/alarms/+", f"{B}/alarms/+"],
    )
    await a.start()
    try:
        await asyncio.wait_for(a.connected.wait(), 5)
        await asyncio.wait_for(a.publish(f"{A}/alarms/x", state, retain=True), 5)
        assert await a.retained(f"{A}/alarms/+") == {f"{A}/alarms/x": state.encode()}
        assert await a.retained(f"{B}/alarms/+") == {}, "granted, and nothing delivered"
    finally:
        await a.stop()


async def test_procurement_reads_every_gateways_alarms_and_cannot_raise_one(
    broker: LocalBroker, pki: BrokerPki
) -> None:
    """The clerks' watch learns from the alarms of requests made urgent after they were sent."""
    state = '{"state":"raised"}'
    async with Client(broker.tls_url, account(pki, "s1/b")) as b:
        await asyncio.wait_for(b.session.publish(f"{B}/alarms/x", state, retain=True), 5)
    async with Client(broker.tls_url, account(pki, "procurement"), "rxedge/v1/+/+/alarms/+") as c:
        await eventually(lambda: c.topics() == [f"{B}/alarms/x"], what="B's alarm, retained")
        assert await c.publish(f"{A}/alarms/x", state) == "Not authorized"


async def test_procurement_takes_every_gateways_requests_in_its_share_group_and_answers_each(
    broker: LocalBroker, pki: BrokerPki, capsys: pytest.CaptureFixture[str]
) -> None:
    options = WatchOptions(
        broker_url=broker.tls_url,
        as_json=True,
        count=2,
        seconds=15,
        accept=True,
        security=account(pki, "procurement"),
    )
    url = broker.tls_url
    async with (
        Client(url, account(pki, "s1/a"), f"{A}/procurement/status") as a,
        Client(url, account(pki, "s1/b"), f"{B}/procurement/status") as b,
        Client(url, account(pki, "procurement")) as centre,
    ):
        watching = asyncio.create_task(watch(options))
        said: list[str] = []
        await eventually(
            lambda: said.append(capsys.readouterr().err) or "watching" in "".join(said),
            what="the watch subscribed",
        )
        # A clerk's account cannot pass a request off as a gateway's.
        forged = json.dumps(request_message("s1", "a"))
        assert await centre.publish(f"{A}/procurement/request", forged) == "Not authorized"
        mine = [request_message("s1", "a"), request_message("s1", "b")]
        assert await a.publish(f"{A}/procurement/request", json.dumps(mine[0])) == "ok"
        assert await b.publish(f"{B}/procurement/request", json.dumps(mine[1])) == "ok"
        assert await asyncio.wait_for(watching, 20) == 0
        await eventually(lambda: a.received and b.received, what="each gateway's answer")
    for client, request in ((a, mine[0]), (b, mine[1])):
        [(_, payload)] = client.received
        answer = json.loads(payload)
        assert (answer["request_id"], answer["status"]) == (request["request_id"], "accepted")


async def test_the_certificate_is_the_account_where_the_listener_says_so(
    tmp_path: Path, pki: BrokerPki
) -> None:
    server = LocalBroker(
        tmp_path / "broker",
        tls=TlsListener(
            pki.ca.ca_file,
            pki.server.cert_file,
            pki.server.key_file,
            True,
            identity_as_username=True,
        ),
        password_file=hashed_passwords(tmp_path / "passwd", PASSWORDS),
        acl_file=ACL,
    )
    await server.start()
    certificate = BrokerSecurity(pki.ca.ca_file, pki.gateway_a.cert_file, pki.gateway_a.key_file)
    try:
        async with Client(server.tls_url, certificate) as gateway_a:
            assert await gateway_a.publish(f"{A}/status", "online") == "ok"
            assert await gateway_a.publish(f"{B}/status", "online") == "Not authorized"
    finally:
        await server.stop()


async def test_the_example_broker_configuration_serves_gateways_under_the_example_acl(
    tmp_path: Path, pki: BrokerPki
) -> None:
    port = free_port()
    files = {
        "/etc/mosquitto/certs/ca.crt": pki.ca.ca_file,
        "/etc/mosquitto/certs/server.crt": pki.server.cert_file,
        "/etc/mosquitto/certs/server.key": pki.server.key_file,
        "/etc/mosquitto/rxedge.passwd": hashed_passwords(tmp_path / "passwd", PASSWORDS),
        "/etc/mosquitto/rxedge.acl": ACL,
        "/var/lib/mosquitto/": f"{tmp_path}/",
    }
    text = TLS_CONF.read_text()
    for path, here in files.items():
        assert path in text, path
        text = text.replace(path, str(here))
    text = re.sub(r"^listener 8883$", f"listener {port} 127.0.0.1", text, flags=re.MULTILINE)
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(text + ("user root\n" if os.geteuid() == 0 else ""))
    process = subprocess.Popen([find_mosquitto(), "-c", str(conf)], stderr=subprocess.PIPE)
    url = f"mqtts://127.0.0.1:{port}"
    try:
        async with Client(url, account(pki, "s1/b")) as gateway_b:
            assert await gateway_b.publish(f"{B}/status", "online") == "ok"
            assert await gateway_b.publish(f"{A}/status", "online") == "Not authorized"
    finally:
        process.terminate()
        _, errors = await asyncio.to_thread(process.communicate, None, 10)
    assert process.returncode == 0, errors.decode()
