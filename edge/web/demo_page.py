"""The page beside `rxedge demo --web PORT`: served on this machine only, with an account made
for the demo (its password new each run, printed with the address)."""

from __future__ import annotations

import secrets
from pathlib import Path

from edge.settings.config import GatewayConfig
from edge.web.accounts import Accounts
from edge.web.server import RunningPage, start_page

DEMO_USER = "pharmacist"
DEMO_NAME = "Demo Pharmacist"


async def start_demo_page(
    config: GatewayConfig, workdir: Path, port: int
) -> tuple[RunningPage, str]:
    """The running page (port 0: a free one) and the demo account's password."""
    users = workdir / "web-users.json"
    password = secrets.token_urlsafe(9)
    Accounts(users).add(DEMO_USER, DEMO_NAME, password)
    web = config.web.model_copy(update={"users_file": users})
    page = await start_page(config.model_copy(update={"web": web}), f"127.0.0.1:{port}")
    return page, password
