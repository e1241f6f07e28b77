"""`rxedge web` as the service runs it: accounts made and removed on the command line (argon2id
hashes, a file closed to others), the page served with no memory both writable and executable
and stopped by SIGTERM, and a wrong TLS setting refused at start, naming its key."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import stat
import sys
import urllib.request
from pathlib import Path

import pytest

from edge.demo.local_broker import LocalBroker
from tests.command_line import ROOT, rxedge
from tests.edge.pick_rig import stock
from tests.edge.test_service_unit import _kernel_refuses_exec_gain, _no_write_and_execute
from tests.web.page_rig import free_port


def write_config(tmp_path: Path, broker_url: str, **web: str) -> Path:
    db = tmp_path / "ledger.sqlite"
    if not db.exists():
        stock(db)
    extra = "".join(f'{key} = "{value}"\n' for key, value in web.items())
    config = tmp_path / "gateway.toml"
    config.write_text(f"""
site = "s1"
gateway = "g1"
database = "{db}"
[broker]
url = "{broker_url}"
[metrics]
listen = ""
[web]
users_file = "{tmp_path / "web-users.json"}"
{extra}
[[shelves]]
name = "A"
host = "127.0.0.1"
port = 1502
slots = 8
""")
    return config


def test_accounts_are_added_listed_and_removed_with_argon2_hashes(tmp_path: Path) -> None:
    config = write_config(tmp_path, "mqtt://127.0.0.1:1883")
    added = rxedge(
        "web",
        "add-user",
        "ana.ruiz",
        "--name",
        "Ana Ruiz",
        "--config",
        str(config),
        stdin="a long enough secret\n",
    )
    assert added.returncode == 0, added.stderr
    users = tmp_path / "web-users.json"
    assert stat.S_IMODE(users.stat().st_mode) == 0o640
    body = json.loads(users.read_text())
    assert body["users"]["ana.ruiz"]["name"] == "Ana Ruiz"
    assert body["users"]["ana.ruiz"]["hash"].startswith("$argon2id$")
    assert "a long enough secret" not in users.read_text()
    short = rxedge(
        "web", "add-user", "bo", "--name", "Bo", "--config", str(config), stdin="short\n"
    )
    assert short.returncode == 2 and "at least 10 characters" in short.stderr
    bad = rxedge(
        "web",
        "add-user",
        "Bo Smith",
        "--name",
        "Bo",
        "--config",
        str(config),
        stdin="a long enough secret\n",
    )
    assert bad.returncode == 2 and "user name 'Bo Smith'" in bad.stderr
    assert rxedge("web", "users", "--config", str(config)).stdout == "ana.ruiz\tAna Ruiz\n"
    assert rxedge("web", "remove-user", "ana.ruiz", "--config", str(config)).returncode == 0
    missing = rxedge("web", "remove-user", "ana.ruiz", "--config", str(config))
    assert missing.returncode == 2 and "no account 'ana.ruiz'" in missing.stderr


def test_a_missing_tls_file_is_refused_naming_its_key(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        "mqtt://127.0.0.1:1883",
        cert_file=str(tmp_path / "web.crt"),
        key_file=str(tmp_path / "web.key"),
    )
    result = rxedge("web", "--config", str(config))
    assert result.returncode == 2
    assert "web.cert_file" in result.stderr and "does not exist" in result.stderr


async def test_the_page_serves_with_no_memory_both_writable_and_executable(
    tmp_path: Path, broker: LocalBroker
) -> None:
    if not _kernel_refuses_exec_gain():
        pytest.skip("this kernel cannot refuse writable-and-executable memory (PR_SET_MDWE)")
    port = free_port()
    config = write_config(tmp_path, broker.url, listen=f"127.0.0.1:{port}")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "edge.cli",
        "web",
        "--config",
        str(config),
        cwd=ROOT,
        env=dict(os.environ),
        preexec_fn=_no_write_and_execute,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        found = re.search(r"serving s1/g1 at (http://\S+)", line)
        assert found, line + (await process.stdout.read()).decode()

        def fetch() -> str:
            with urllib.request.urlopen(found.group(1) + "/shelves", timeout=10) as answer:
                return answer.read().decode()

        page = await asyncio.to_thread(fetch)
        assert 'data-slot="A-01"' in page and "Shelf A" in page
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
