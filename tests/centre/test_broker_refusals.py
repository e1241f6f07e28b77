"""A broker that refuses the protocol version or the account: one line naming the broker, what
it said and the setting that fixes it, from the daemon, the demo and the tools; no traceback.
NATS's MQTT gateway speaks only 3.1.1, so it refuses MQTT 5."""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from pathlib import Path

import pytest

from edge.daemon.activity import Activity
from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker, write_password_file
from edge.demo.nats_cluster import NatsCluster
from edge.settings.config import parse_config
from sync.jetstream.link import NatsUnavailable, connect
from tests.conftest import eventually
from tests.edge.procurement_rig import CliRun, config, products

TARGET = ("--site", "s1", "--gateway", "g1")


def refused_mqtt5(url: str, fix: str) -> str:
    return f"broker {url} refused MQTT 5 (unsupported protocol version): {fix}"


async def finished(*args: str) -> tuple[int, list[str]]:
    run = await CliRun.start(*args)
    return await run.finish(timeout=60), run.errors


@pytest.mark.timeout(120)
async def test_the_demo_and_the_tools_say_which_setting_makes_a_3_1_1_broker_take_them(
    cluster: NatsCluster, tmp_path: Path
) -> None:
    url = cluster.mqtt_urls[0]
    said = refused_mqtt5(url, "use --mqtt-protocol 3.1.1")
    runs = await asyncio.gather(
        finished("demo", "--broker", url, "--plain", "--seconds", "20"),
        finished("locate", "04012345123456", "--broker", url, *TARGET),
        finished("procurement", "status", str(uuid.uuid4()), "ordered", "--broker", url, *TARGET),
        finished("procurement", "watch", "--broker", url, "--seconds", "20"),
    )
    prefixes = ["rxedge demo: ", "rxedge: ", "rxedge: ", "rxedge: "]
    for (code, errors), prefix in zip(runs, prefixes, strict=True):
        assert code in (2, 3), errors
        assert errors[-1] == prefix + said, errors
        assert not any("Traceback" in line for line in errors), errors
    code, errors = await finished(
        *("procurement", "watch", "--broker", url, "--mqtt-protocol", "3.1.1", "--group", "g")
    )
    assert code == 2 and "--nats URL --durable NAME" in errors[-1], errors


async def test_the_daemon_says_once_that_broker_protocol_must_be_3_1_1(
    cluster: NatsCluster, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = cluster.mqtt_urls[0]
    seen: list[Activity] = []
    settings = config(tmp_path / "ledger.sqlite", url, products(1))
    settings["metrics"] = {"listen": ""}
    gateway = Gateway(parse_config(settings), seen.append)
    caplog.set_level(logging.DEBUG)
    task = asyncio.create_task(gateway.run())
    try:
        session = await eventually(lambda: gateway.session, what="a session")
        await eventually(lambda: session.refused.is_set(), timeout=15, what="the refusal")
        await asyncio.sleep(2)  # it goes on trying; the message is not repeated
    finally:
        gateway.stop()
        await asyncio.wait_for(task, 15)
    said = refused_mqtt5(url, 'set broker.protocol = "3.1.1"')
    assert [a.text for a in seen if a.kind == "sync"] == [said]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [said]


async def test_a_tool_with_a_wrong_password_is_told_which_options_to_check(
    tmp_path: Path,
) -> None:
    accounts = write_password_file(tmp_path / "passwd", {"clerk": "right"})
    broker = LocalBroker(tmp_path / "broker", password_file=accounts)
    await broker.start()
    wrong = tmp_path / "password"
    wrong.write_text("wrong\n")
    wrong.chmod(0o600)
    try:
        code, errors = await finished(
            *("locate", "04012345123456", "--broker", broker.url, *TARGET),
            *("--username", "clerk", "--password-file", str(wrong)),
        )
    finally:
        await broker.stop()
    assert code == 3
    assert errors[-1] == (
        f"rxedge: broker {broker.url} refused the account (not authorized): check "
        "--username and --password-file (or --cert-file) against the broker's accounts"
    )


async def test_a_nats_server_that_does_not_answer_is_named_without_its_password() -> None:
    """The clerks' tools take NATS credentials in the server URL, as NATS does: a server that
    does not answer is named in the error without them (it reaches a terminal or a journal)."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(NatsUnavailable) as refused:
        await connect([f"nats://clerk:s3cret-pass@127.0.0.1:{port}"], "test", timeout=3)
    assert f"nats://127.0.0.1:{port}" in str(refused.value)
    assert "s3cret-pass" not in str(refused.value) and "clerk" not in str(refused.value)
