"""The page on a count a badge tap confirmed: whose badge, and which packs it left where the
ledger has them (booked on another shelf, maybe read through from there); nothing waits."""

from __future__ import annotations

import asyncio
import urllib.request
from pathlib import Path

from edge.demo.local_broker import LocalBroker
from edge.settings.config import parse_config
from edge.web.server import start_page
from tests.edge.test_stocktake_shelf_change import SHELVES
from tests.edge.test_stocktake_tap import SWEEP_OF_A, swept


async def test_the_page_says_whose_badge_confirmed_the_count_and_what_it_left(
    tmp_path: Path, broker: LocalBroker
) -> None:
    keeper, flow, sid, _ = swept(tmp_path, SWEEP_OF_A)
    assert flow.badge("Dr. Ana Ruiz") is True
    keeper.close()
    web = {"listen": "127.0.0.1:0", "users_file": str(tmp_path / "web-users.json")}
    config = parse_config(
        {
            "site": "s1",
            "gateway": "g1",
            "database": str(tmp_path / "ledger.sqlite"),
            "broker": {"url": broker.url},
            "web": web,
            **SHELVES,
        }
    )
    page = await start_page(config)
    try:
        url = f"{page.url}/stocktake/{sid}"
        body = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=10).read())
    finally:
        await page.stop()
    text = body.decode()
    assert "State: confirmed (confirmed by Dr. Ana Ruiz's badge at the shelf at " in text
    assert (
        "<p data-left-by-tap>Left where the ledger has them (booked on another shelf, maybe read "
        "through from there: count that shelf to be sure): 04012345123456 102 (ledger: B-02); "
        "04012345123456 103 (ledger: B-03).</p>"
    ) in text
    assert "left there by the badge tap" in text
    assert "waiting for a look" not in text.lower()
    assert "look before confirming" not in text
