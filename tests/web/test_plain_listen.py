"""The page in plain HTTP is for this machine only: listening on the pharmacy's network without
TLS (logins and session cookies readable by anyone on the Wi-Fi) is refused at start, naming
the setting and the fixes, unless the configuration accepts it in so many words."""

from __future__ import annotations

import asyncio
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from edge.demo.local_broker import LocalBroker
from edge.settings.config import GatewayConfig, parse_config
from edge.web.server import WebSetupError, start_page
from tests.edge.pick_rig import stock


async def test_plain_http_beyond_this_machine_is_refused_unless_accepted(
    tmp_path: Path, broker: LocalBroker
) -> None:
    stock(tmp_path / "ledger.sqlite")

    def config(**web: Any) -> GatewayConfig:
        return parse_config(
            {
                "site": "s1",
                "gateway": "g1",
                "database": str(tmp_path / "ledger.sqlite"),
                "broker": {"url": broker.url},
                "metrics": {"listen": ""},
                "web": {"users_file": str(tmp_path / "web-users.json"), **web},
            }
        )

    for listen in ("0.0.0.0:0", "[::]:0"):
        with pytest.raises(WebSetupError) as refused:
            await start_page(config(listen=listen))
        said = str(refused.value)
        assert said.startswith("web.listen: ") and "cert_file" in said, said
        assert "behind_proxy" in said and "allow_insecure = true" in said
    with pytest.raises(WebSetupError, match=r"^web\.listen: "):
        await start_page(config(), "0.0.0.0:0")  # rxedge web --listen, the same
    page = await start_page(config(listen="0.0.0.0:0", allow_insecure=True))
    try:
        port = page.url.rpartition(":")[2]

        def fetch() -> int:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as answer:
                return int(answer.status)

        assert await asyncio.to_thread(fetch) == 200
    finally:
        await page.stop()
