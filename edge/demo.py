"""`rxedge demo`: the whole loop on simulated hardware and a local broker.

A reader simulator on a pty and a Modbus shelf controller simulator stand in for the shelf; the
real daemon reads them, a pharmacist (scripted) takes packs, stock falls to the reorder point,
the slot's LED turns amber, and a procurement request reaches a subscriber on the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from drivers.modbus.profile import Colour
from edge.activity import Activity
from edge.config import parse_config
from edge.gateway import Gateway
from edge.local_broker import LocalBroker
from edge.procurement_watch import ProcurementWatch
from firmware_sim.r2000_sim import R2000Simulator
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator
from firmware_sim.tags import sgtin96
from sync.broker_url import BrokerAddress
from sync.procurement_feed import ReceivedRequest


@dataclass(frozen=True)
class DemoProduct:
    gtin: str
    company_prefix: str
    item_reference: str
    name: str
    antenna: int
    packs: int
    reorder_point: int
    par: int
    taken: int  # packs the scripted pharmacist takes


PRODUCTS = (
    DemoProduct(
        "04012345123456", "4012345", "012345", "Amoxicillin 500 mg capsules x21", 1, 6, 3, 8, 3
    ),
    DemoProduct(
        "04012345987652", "4012345", "098765", "Paracetamol 500 mg tablets x20", 2, 5, 1, 6, 1
    ),
    DemoProduct(
        "05012345678900", "5012345", "067890", "Ibuprofen 400 mg tablets x30", 3, 4, 1, 5, 0
    ),
)
FOREIGN_TAG = bytes.fromhex("E2801160600002054B3A1B1C")  # a TID: counted and ignored
DWELL_SECONDS = 1.5


def slot_of(antenna: int) -> str:
    return f"A-{antenna:02d}"


def demo_config(db: Path, broker_url: str, reader_port: str, shelf_port: int) -> dict[str, object]:
    """The configuration the demo daemon runs with (the same schema as a real gateway's)."""
    return {
        "site": "demo-pharmacy",
        "gateway": "gw-1",
        "database": str(db),
        "broker": {"url": broker_url},
        "presence": {"dwell_seconds": DWELL_SECONDS},
        "readers": [
            {
                "name": "shelf-A-reader",
                "port": reader_port,
                "baudrate": 115200,
                "antennas": {str(a): slot_of(a) for a in (1, 2, 3, 4)},
            }
        ],
        "shelves": [
            {"name": "A", "transport": "tcp", "host": "127.0.0.1", "port": shelf_port, "slots": 24}
        ],
        "products": [
            {
                "gtin": p.gtin,
                "name": p.name,
                "reorder_point": p.reorder_point,
                "par": p.par,
                "slots": [slot_of(p.antenna)],
            }
            for p in PRODUCTS
        ],
    }


class Demo:
    def __init__(self, seconds: float, forever: bool, db: Path | None, broker_url: str | None):
        self.seconds = seconds
        self.forever = forever
        self.db = db
        self.broker_url = broker_url
        self.started = time.monotonic()
        self.requests: list[ReceivedRequest] = []
        self.got_request = asyncio.Event()

    def say(self, kind: str, text: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {kind:9} {text}", flush=True)

    def on_activity(self, activity: Activity) -> None:
        self.say(activity.kind, activity.text)

    def on_request(self, request: ReceivedRequest) -> None:
        self.requests.append(request)
        self.say("centre", "procurement received: " + request.line())
        self.got_request.set()

    async def run(self) -> int:
        with contextlib.ExitStack() as stack:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rxedge-demo-")))
            db = self.db or workdir / "ledger.sqlite"
            self.say("demo", f"ledger: {db}" + ("" if self.db else " (temporary; --db to keep)"))
            broker = None
            if self.broker_url is None:
                broker = LocalBroker(workdir / "broker")
                await broker.start()
                self.say("demo", f"broker: mosquitto at {broker.url}")
            broker_url = self.broker_url or broker.url  # type: ignore[union-attr]
            reader = R2000Simulator(baudrate=115200)
            shelf = ShelfControllerSimulator(slots=24)
            await reader.start()
            await shelf.start()
            self.say(
                "demo",
                f"reader simulator (R2000, 115200 baud) on {reader.port}; "
                f"shelf controller simulator (Modbus TCP) on port {shelf.port}",
            )
            for product in PRODUCTS:
                for serial in range(1, product.packs + 1):
                    reader.place(
                        product.antenna,
                        sgtin96(product.company_prefix, product.item_reference, serial),
                    )
            reader.place(4, FOREIGN_TAG)
            watch = ProcurementWatch(
                BrokerAddress.parse(broker_url), self.on_request, site="demo-pharmacy"
            )
            await watch.start()
            config = parse_config(demo_config(db, broker_url, reader.port, shelf.port))
            gateway = Gateway(config, observer=self.on_activity)
            daemon = asyncio.create_task(gateway.run())
            try:
                ok = await self._scenario(gateway, reader, shelf)
                if self.forever:
                    self.say("demo", "scenario done; running on until Ctrl-C")
                    await daemon
            finally:
                gateway.stop()
                with contextlib.suppress(Exception):
                    await daemon
                await watch.stop()
                await reader.stop()
                await shelf.stop()
                if broker is not None:
                    await broker.stop()
            await self._summary(gateway, ok, db)
            return 0 if ok else 1

    async def _scenario(
        self, gateway: Gateway, reader: R2000Simulator, shelf: ShelfControllerSimulator
    ) -> bool:
        deadline = self.started + self.seconds
        total = sum(p.packs for p in PRODUCTS)
        await gateway.ready.wait()
        self.say("demo", f"waiting for the daemon to see all {total} packs on the shelf")
        if not await _until(lambda: _at_least(gateway.tagged_packs(), total), deadline):
            self.say("demo", "the daemon did not see every pack in time")
            return False
        for product in PRODUCTS:
            for serial in range(1, product.taken + 1):
                await asyncio.sleep(1.0)
                reader.remove(sgtin96(product.company_prefix, product.item_reference, serial))
                self.say(
                    "pharmacist",
                    f"takes {product.name} serial {serial} from {slot_of(product.antenna)}",
                )
        for product in PRODUCTS:
            if not await _until(partial(_stock_settled, gateway, product), deadline):
                self.say("demo", f"the ledger does not show {product.name} as expected in time")
                return False
        short = PRODUCTS[0]
        slot = short.antenna - 1
        if not await _until(self.got_request.is_set, deadline):
            self.say("demo", "no procurement request arrived in time")
            return False
        lit = await _until(lambda: _is_amber(shelf, slot), deadline)
        light = await shelf.light(slot)
        self.say(
            "shelf",
            f"controller registers for {slot_of(short.antenna)}: LED "
            f"{'on' if light.on else 'off'}, colour {light.colour.name.lower()}",
        )
        return lit

    async def _summary(self, gateway: Gateway, ok: bool, db: Path) -> None:
        print("\nsummary")
        print(f"  result:               {'scenario complete' if ok else 'scenario NOT complete'}")
        print(f"  tag reads:            {gateway.counters['tag_reads']}")
        print(f"  foreign tags ignored: {sum(gateway.epcs.ignored.values())}")
        print(f"  movements recorded:   {gateway.counters['movements']}")
        print(f"  alarm changes:        {gateway.counters['alarm_changes']}")
        print(f"  requests raised:      {gateway.counters['requests']}")
        print(f"  messages published:   {gateway.publisher.sent if gateway.publisher else 0}")
        print(f"  requests received:    {len(self.requests)}")
        print(f"  ledger:               {db}")


async def _at_least(count: Awaitable[int], minimum: int) -> bool:
    return await count >= minimum


async def _stock_settled(gateway: Gateway, product: DemoProduct) -> bool:
    return await gateway.on_hand(product.gtin) == product.packs - product.taken


async def _is_amber(shelf: ShelfControllerSimulator, slot: int) -> bool:
    light = await shelf.light(slot)
    return light.on and light.colour is Colour.AMBER


async def _until(condition: Callable[[], bool | Awaitable[bool]], deadline: float) -> bool:
    """Poll `condition` until it holds (True) or `deadline` (monotonic) passes (False)."""
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.05)


async def run_demo(seconds: float, forever: bool, db: Path | None, broker_url: str | None) -> int:
    return await Demo(seconds, forever, db, broker_url).run()
