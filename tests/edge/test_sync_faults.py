"""Faults between the gateway and the procurement side, over a real mosquitto: the broker away
for 30 s while shortages keep being raised and confirmed, the daemon killed right after a
confirmation was acknowledged, and the daemon and the clerk's watch both killed mid-stream.
Every request the ledger holds as sent reaches the consumer, which applies each once."""

from __future__ import annotations

import asyncio
import csv
import itertools
import json
import signal
import sqlite3
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edge.cli.procurement.watch import ProcurementWatch
from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker
from firmware_sim.r2000_sim import R2000Simulator
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator
from firmware_sim.tags import sgtin96
from inventory.changes import Book, ConfirmRequest
from inventory.keeper import InventoryKeeper
from inventory.replenishment.policy import Product
from sync.broker_url import BrokerAddress
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.procurement_rig import (
    GATEWAY,
    PREFIX,
    ROOT,
    RXEDGE,
    SITE,
    CliRun,
    change,
    config,
    products,
    proposals,
    put_back,
    requests,
    sent_ids,
    start_gateway,
    stock,
    stop_gateway,
    take_one,
    unsent_requests,
)

OUTAGE_SECONDS = 30.0


class Consumer:
    """The centre's persistent consumer: each request applied once, every delivery counted."""

    def __init__(self, broker: LocalBroker, client_id: str = "centre-consumer"):
        self.applied: Counter[str] = Counter()
        self.watch = ProcurementWatch(
            BrokerAddress.parse(broker.url),
            lambda request: self.applied.update([request.request_id]),
            client_id=client_id,
        )

    async def start(self) -> None:
        await self.watch.start()
        await eventually(self.watch.session.subscribed.is_set, what="consumer subscribed")

    def report(self) -> str:
        return (
            f"{len(self.applied)} requests applied, {self.watch.session.deliveries} deliveries, "
            f"{self.watch.feed.duplicates} copies dropped"
        )


async def shortage_round(
    gateway: Gateway, db: Path, gtins: list[str], centre: Subscriber | None
) -> None:
    """Every product runs short (a request, or a proposal that is confirmed: by command through
    the broker when `centre` is given, else as a keeper call), then its delivery is booked."""
    before = set(requests(db))
    for gtin in gtins:
        change(gateway, Book((take_one(gtin),)))
    await eventually(lambda: len(set(requests(db)) - before) == len(gtins), what="shortages")
    for rid in proposals(db):
        if centre is not None:
            body = with_envelope({"request_id": rid, "by": "Ana Ruiz"})
            centre.publish(f"{PREFIX}/cmd/procurement-confirm", json.dumps(body))
            await eventually(
                lambda r=rid: any(
                    a["command_id"] == r and a["status"] == "confirmed"
                    for a in centre.payloads("/cmd-result")
                ),
                what=f"{rid} confirmed",
            )
        else:
            change(gateway, ConfirmRequest(rid, "Ana Ruiz", None))
    await eventually(lambda: not proposals(db), what="proposals confirmed")
    for gtin in gtins:
        change(gateway, Book((put_back(gtin),)))
    await eventually(
        lambda: all(requests(db)[r] == "received" for r in set(requests(db)) - before),
        what="deliveries booked",
    )


@pytest.mark.timeout(OUTAGE_SECONDS + 120)
async def test_a_30_s_broker_outage_loses_no_request_and_none_is_applied_twice(
    broker: LocalBroker,
    subscribe: Callable[..., Subscriber],
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    wanted = products(auto=3, ask=2)
    gtins = [p["gtin"] for p in wanted]
    db = tmp_path / "ledger.sqlite"
    stock(db, wanted)
    consumer = Consumer(broker)
    await consumer.start()
    centre = subscribe(f"{PREFIX}/cmd-result", f"{PREFIX}/status")
    gateway, task = await start_gateway(config(db, broker.url, wanted))
    try:
        for _ in range(3):
            await shortage_round(gateway, db, gtins, centre)
        await broker.stop()
        loop = asyncio.get_running_loop()
        back_at, rounds_away = loop.time() + OUTAGE_SECONDS, 0
        while loop.time() < back_at:  # the outage is the requirement: 30 s of raising requests
            await shortage_round(gateway, db, gtins, None)
            rounds_away += 1
            await asyncio.sleep(0.2)
        waiting = unsent_requests(db)
        assert waiting >= 5 * rounds_away > 0, "requests raised while away wait in the outbox"
        onlines = len([m for m in centre.drain() if m.payload == b"online"])
        await broker.start()  # the same port, with what it saved
        await eventually(
            lambda: gateway.session is not None and gateway.session.connected.is_set(),
            timeout=10,
            what="the gateway back on the broker",
        )
        await eventually(
            lambda: len([m for m in centre.drain() if m.payload == b"online"]) > onlines,
            what="the centre back (the retained status again)",
        )
        for _ in range(3):
            await shortage_round(gateway, db, gtins, centre)
        await eventually(
            lambda: set(consumer.applied) == sent_ids(db), timeout=60, what="every request"
        )
    finally:
        await stop_gateway(gateway, task)
        await consumer.watch.stop()
    assert max(consumer.applied.values()) == 1
    assert len(consumer.applied) == 5 * (6 + rounds_away)
    record_property("deliveries", consumer.report())
    print(f"\n30 s outage, {rounds_away} rounds away, {waiting} queued: {consumer.report()}")


def daemon_config(tmp_path: Path, broker: LocalBroker, extra: str = "") -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(
        f'site = "{SITE}"\ngateway = "{GATEWAY}"\ndatabase = "{tmp_path / "ledger.sqlite"}"\n'
        f'[broker]\nurl = "{broker.url}"\n{extra}'
    )
    return path


def products_toml(wanted: list[dict[str, Any]]) -> str:
    return "".join(
        f'[[products]]\ngtin = "{p["gtin"]}"\nname = "{p["name"]}"\n'
        f"reorder_point = {p['reorder_point']}\npar = {p['par']}\n"
        f"auto_confirm = {str(p['auto_confirm']).lower()}\n"
        for p in wanted
    )


def start_daemon(config_file: Path) -> subprocess.Popen[str]:
    """`rxedge run` as a process, its log beside its config file."""
    with config_file.with_suffix(".log").open("a") as log:
        return subprocess.Popen(
            [*RXEDGE, "run", "--init", "--config", str(config_file)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )


def sent_at(db: Path, request_id: str) -> str | None:
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT sent_at FROM outbox WHERE kind = 'procurement_request' AND key = ?",
            (request_id,),
        ).fetchone()
    return None if row is None else row[0]


async def online_again(centre: Subscriber, before: int) -> None:
    await eventually(
        lambda: [m.payload for m in centre.drain()].count(b"online") > before,
        timeout=20,
        what="the daemon online",
    )


async def test_a_daemon_killed_right_after_confirming_sends_the_request_after_its_restart(
    broker: LocalBroker, subscribe: Callable[..., Subscriber], tmp_path: Path
) -> None:
    asked = products(auto=0, ask=2)
    db = tmp_path / "ledger.sqlite"
    stock(db, asked)
    policies = {
        p["gtin"]: Product(p["gtin"], p["name"], p["reorder_point"], p["par"], auto_confirm=False)
        for p in asked
    }
    keeper = InventoryKeeper(db, policies, SITE, GATEWAY)
    for p in asked:  # both short: two proposals wait for a pharmacist
        keeper.commit([take_one(p["gtin"])])
    keeper.close()
    first, second = sorted(proposals(db))
    conf = daemon_config(tmp_path, broker, products_toml(asked))
    consumer = Consumer(broker)
    await consumer.start()
    centre = subscribe(f"{PREFIX}/cmd-result", f"{PREFIX}/status")
    confirm = f"{PREFIX}/cmd/procurement-confirm"
    daemon = start_daemon(conf)
    try:
        await online_again(centre, 0)
        # 1: killed the moment the confirmation's answer arrives.
        centre.publish(confirm, json.dumps(with_envelope({"request_id": first, "by": "Ana Ruiz"})))
        await eventually(
            lambda: any(
                a["command_id"] == first and a["status"] == "confirmed"
                for a in centre.payloads("/cmd-result")
            ),
            interval=0.001,
            what="confirmed",
        )
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(10)
        assert requests(db)[first] == "requested"
        daemon = start_daemon(conf)
        await online_again(centre, 1)
        # 2: killed the moment the request is in the ledger as sent (usually before the
        # broker has acknowledged it: the outbox row is still unsent).
        centre.publish(confirm, json.dumps(with_envelope({"request_id": second, "by": "Ana"})))
        await eventually(lambda: requests(db).get(second) == "requested", interval=0.001)
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(10)
        unsent_at_kill = sent_at(db, second) is None
        daemon = start_daemon(conf)
        await online_again(centre, 2)
        await eventually(
            lambda: set(consumer.applied) == {first, second}, timeout=20, what="both requests"
        )
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(15) == 0
    finally:
        daemon.kill()
        await consumer.watch.stop()
    assert max(consumer.applied.values()) == 1
    print(f"\nkilled with the request unsent: {unsent_at_kill}; {consumer.report()}")


async def test_the_daemon_and_the_watch_both_killed_mid_stream_lose_nothing(
    broker: LocalBroker, subscribe: Callable[..., Subscriber], tmp_path: Path
) -> None:
    """Packs leave a reader's antennas and new ones arrive, so requests keep being raised and
    closed, while the daemon and the clerk's watch (writing a CSV file) are killed in turn."""
    reader = R2000Simulator(link=tmp_path / "ttyREADER0")
    shelf = ShelfControllerSimulator(slots=8)
    await reader.start()
    await shelf.start()
    wanted = products(auto=3)
    packs = {
        n: [sgtin96("4012345", f"0{20001 + n}", serial) for serial in range(1, 4)] for n in range(3)
    }
    for n, tags in packs.items():
        for epc in tags:
            reader.place(n + 1, epc)
    conf = daemon_config(
        tmp_path,
        broker,
        '[presence]\ndwell_seconds = 0.3\n[[readers]]\nname = "r1"\n'
        f'port = "{tmp_path / "ttyREADER0"}"\n[readers.antennas]\n1 = "A-01"\n2 = "A-02"\n'
        f'3 = "A-03"\n[[shelves]]\nname = "A"\nhost = "127.0.0.1"\nport = {shelf.port}\n'
        f"slots = 8\n{products_toml(wanted)}",
    )
    db, table = tmp_path / "ledger.sqlite", tmp_path / "requests.csv"
    watch = ["procurement", "watch", "--broker", broker.url, "--client-id", "clerk-desk"]
    watch += ["--csv", str(table), "--seen", str(tmp_path / "seen.txt")]

    async def stream() -> None:
        """One pack of each product picked off its antenna and a new one delivered, over and
        over (a pack put back would deliver nothing)."""
        for serial in itertools.count(4):
            for n in packs:
                reader.remove(packs[n].pop(0))
            await asyncio.sleep(0.7)
            for n in packs:
                packs[n].append(sgtin96("4012345", f"0{20001 + n}", serial))
                reader.place(n + 1, packs[n][-1])
            await asyncio.sleep(0.7)

    def in_csv() -> list[str]:
        if not table.exists():
            return []
        with table.open(newline="") as held:
            return [row["request_id"] for row in csv.DictReader(held)]

    centre = subscribe(f"{PREFIX}/status")
    clerk = await CliRun.start(*watch)
    await clerk.watching()
    daemon = start_daemon(conf)
    packs_moving = asyncio.create_task(stream())
    try:
        await eventually(lambda: len(in_csv()) >= 3, timeout=30, what="requests written down")
        await clerk.kill()
        at_clerk_kill = len(sent_ids(db))
        await eventually(lambda: len(sent_ids(db)) >= at_clerk_kill + 3, timeout=30)
        daemon.kill()
        daemon.wait(10)
        at_daemon_kill = len(sent_ids(db))
        daemon = start_daemon(conf)
        await online_again(centre, 1)
        await eventually(lambda: len(sent_ids(db)) >= at_daemon_kill + 3, timeout=30)
        clerk = await CliRun.start(*watch)
        await eventually(lambda: len(sent_ids(db)) >= at_daemon_kill + 9, timeout=30)
        packs_moving.cancel()
        await eventually(lambda: set(in_csv()) == sent_ids(db), timeout=30, what="every request")
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(15) == 0
        assert await clerk.interrupt() == 130
    finally:
        packs_moving.cancel()
        daemon.kill()
        await clerk.kill()
        await reader.stop()
        await shelf.stop()
    written = in_csv()
    assert len(written) == len(set(written)), "a request written twice"
    print(f"\n{len(written)} requests, each written once, across both kills")
