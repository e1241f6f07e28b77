"""The page and the desk tools reach the broker the way the daemon does: a configuration that
lists its brokers under `urls` (TLS, checked against the CA) is followed by them too, not
swapped for the default plain-text address on this machine, where any local user could take
the connection and the password sent with it."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from edge.demo.local_broker import LocalBroker, TlsListener, write_password_file
from edge.settings.config import load_config
from edge.web.server import start_page
from tests.broker_pki import make_pki
from tests.edge.pick_rig import stock

WEB_USER, WEB_PASSWORD = "s1-g1-web", "page-secret"
ROOT = Path(__file__).resolve().parents[2]


@pytest_asyncio.fixture(loop_scope="session")
async def config_file(tmp_path: Path) -> AsyncIterator[Path]:
    """A gateway.toml whose [broker] lists a TLS mosquitto (wanting a password) under `urls`,
    with the page's own broker account."""
    pki = make_pki(tmp_path / "pki")
    broker = LocalBroker(
        tmp_path / "broker",
        tls=TlsListener(pki.ca.ca_file, pki.server.cert_file, pki.server.key_file),
        password_file=write_password_file(tmp_path / "passwd", {WEB_USER: WEB_PASSWORD}),
    )
    await broker.start()
    stock(tmp_path / "ledger.sqlite")
    secret = tmp_path / "web-mqtt-password"
    secret.write_text(WEB_PASSWORD + "\n")
    secret.chmod(0o600)
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'site = "s1"\ngateway = "g1"\ndatabase = "{tmp_path / "ledger.sqlite"}"\n'
        f'[broker]\nurls = ["{broker.tls_url}"]\nca_file = "{pki.ca.ca_file}"\n'
        '[metrics]\nlisten = ""\n'
        f'[web]\nlisten = "127.0.0.1:0"\nusers_file = "{tmp_path / "web-users.json"}"\n'
        f'broker_username = "{WEB_USER}"\nbroker_password_file = "{secret}"\n'
    )
    yield config
    await broker.stop()


async def test_the_page_follows_the_brokers_listed_under_urls(config_file: Path) -> None:
    page = await start_page(load_config(config_file))
    try:
        session = page.state.live.session
        assert session is not None
        await asyncio.wait_for(session.connected.wait(), 10)
    finally:
        await page.stop()


async def test_a_desk_command_follows_the_brokers_listed_under_urls(config_file: Path) -> None:
    secret = config_file.parent / "web-mqtt-password"
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "edge.cli", "pick", "--cancel", "rx-1", "--no-wait"),
        *("--config", str(config_file), "--username", WEB_USER, "--password-file", str(secret)),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, output.decode()
    assert "sent to rxedge/v1/s1/g1" in output.decode()
