"""The web page's server time per page on a large ledger (1M chained movements over 100k slots
and 10k products; --quick: 10k movements over 5k slots and 1k products): find a drug by GTIN
and by name, expiring stock, and a slot's lines with its history. Each request goes through
the whole ASGI application (routing, session, the read-only ledger questions on a worker
thread, the template) in this process, without a socket: the time is the page server's own.

Baseline, measured in the same run: the same ledger question asked straight of sqlite3 (the
least any page showing it can take). Goal (the page's issue): p95 <= 50 ms per page.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import ledger_fixture
from bench.report import header, row
from edge.settings.config import parse_config
from edge.web.accounts import Accounts
from edge.web.app import build_app
from edge.web.live import LiveFeed
from edge.web.reading import LedgerReader, expiring, slot_lines
from edge.web.state import WebState
from inventory.ledger.questions import history, stock_of
from inventory.ledger.store import connect_readonly
from sync.broker_security import BrokerLink
from sync.topics import Topics

NAMED_PRODUCTS = 2000  # products with names in the configuration (name search looks at them)


@dataclass(frozen=True, slots=True)
class Sizes:
    movements: int
    slots: int
    products: int
    requests: int  # of each page


FULL = Sizes(ledger_fixture.MOVEMENTS, ledger_fixture.SLOTS, ledger_fixture.PRODUCTS, requests=300)
QUICK = Sizes(10_000, 5_000, 1_000, requests=30)


async def get(app: Any, path: str) -> tuple[int, float]:
    """One GET through the ASGI app: (status, seconds)."""
    route, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": route,
        "raw_path": route.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8080")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    started = time.perf_counter()
    await app(scope, receive, send)
    return status, time.perf_counter() - started


def straight(db_path: Path, question: Callable[..., Any], keys: list[Any]) -> list[float]:
    db = connect_readonly(db_path)
    times = []
    for key in keys:
        started = time.perf_counter()
        question(db, key)
        times.append(time.perf_counter() - started)
    db.close()
    return times


async def measure(sizes: Sizes) -> None:
    requests, named = sizes.requests, min(NAMED_PRODUCTS, sizes.products)
    with tempfile.TemporaryDirectory(prefix="rxedge-bench-web-") as tmp:
        db = Path(tmp) / "ledger.sqlite"
        built = time.perf_counter()
        ledger_fixture.build(db, sizes.movements, slots=sizes.slots, products=sizes.products)
        built = time.perf_counter() - built
        products = [
            {
                "gtin": ledger_fixture.gtin(n),
                "name": f"Product {n:05d} 10 mg tablets",
                "reorder_point": 1,
                "par": 5,
            }
            for n in range(named)
        ]
        rng = random.Random(7)
        slots = [ledger_fixture.slot(rng.randrange(sizes.slots)) for _ in range(requests)]
        shelves = sorted({s.rpartition("-")[0] for s in slots})  # the shelves asked about
        config = parse_config(
            {
                "site": "bench",
                "gateway": "g1",
                "database": str(db),
                "products": products,
                "shelves": [  # one controller each (never reached: the page only reads)
                    {"name": name, "host": "127.0.0.1", "port": 10000 + i, "slots": 100}
                    for i, name in enumerate(shelves)
                ],
            }
        )
        reader = LedgerReader(db)
        topics = Topics("bench", "g1")
        live = LiveFeed(BrokerLink.of("mqtt://127.0.0.1:1"), topics, "bench-web", reader)
        state = WebState(config, Accounts(Path(tmp) / "users.json"), reader, live)
        app = build_app(state)  # no lifespan: these pages need no broker
        app.state.web = state
        gtins = [ledger_fixture.gtin(rng.randrange(sizes.products)) for _ in range(requests)]
        names = [f"Product {rng.randrange(named):05d}" for _ in range(requests)]
        today = state.today()
        pages: dict[str, tuple[list[str], list[float]]] = {
            "find by GTIN": (
                [f"/find?q={g}" for g in gtins],
                straight(db, stock_of, gtins),
            ),
            "find by name": (
                [f"/find?q={n.replace(' ', '+')}" for n in names],
                straight(db, stock_of, [ledger_fixture.gtin(int(n[-5:])) for n in names]),
            ),
            "expiring, next 30 days": (
                ["/expiring?days=30"] * requests,
                straight(db, lambda d, k: expiring(d, 30, today), [None] * requests),
            ),
            "expiring, next 90 days (200 lines shown)": (
                ["/expiring?days=90"] * requests,
                straight(db, lambda d, k: expiring(d, 90, today), [None] * requests),
            ),
            "slot: lines and history": (
                [f"/slots/{s}" for s in slots],
                straight(db, lambda d, s: (slot_lines(d, s), history(d, s, 30)), slots),
            ),
        }
        results: dict[str, list[float]] = {}
        for name, (paths, _) in pages.items():
            times = []
            for path in paths:
                status, seconds = await get(app, path)
                if status != 200:
                    raise RuntimeError(f"{path}: HTTP {status}")
                times.append(seconds)
            results[name] = times
    header(
        f"Web page server time, {sizes.movements:,} movements, {sizes.slots:,} slots, "
        f"{requests} requests each (goal p95 <= 50 ms; ledger built in {built:.0f} s)"
    )
    for name, (_, baseline) in pages.items():
        times = results[name]
        p95 = statistics.quantiles(times, n=20)[18]
        base = statistics.quantiles(baseline, n=20)[18]
        row(f"{name}, p50", statistics.median(times) * 1e3, "ms")
        row(f"{name}, p95", p95 * 1e3, "ms", p95 / base, "x the question alone")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k movements, 30 requests")
    args = parser.parse_args(argv)
    asyncio.run(measure(QUICK if args.quick else FULL))


if __name__ == "__main__":
    main()
