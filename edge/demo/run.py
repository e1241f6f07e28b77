"""`rxedge demo`: pick-to-light, live, on simulated hardware and a local broker.

A delivery is booked into a new ledger; an R2000 reader simulator on a pty holds tagged packs on
antennas 1-4, a GS1 scanner simulator sits on another pty, and a Modbus TCP shelf controller
simulator stands for shelf A's 24 LED slots. The real daemon runs on them. The centre sends two
prescriptions over MQTT; a scripted pharmacist pair picks them by button, scan and tag, one
mistake is caught (red, reported, nothing booked), both lists finish, and stock falling to a
reorder point turns its slot amber and sends a procurement request to the centre. The delivery
for that request is then scanned in at a put-away scanner: its slot lights, the packs go away
(by tag and by button), an expired pack is refused, and the request is received. Before it
comes, the centre's clerk answers the requests (accepted, ordered, then shipped), and a
pharmacist counts shelf A with a Chafon handheld simulator, started and ended with `rxedge
stocktake`: the pack missing from A-06 is found, and the report is read and confirmed.

In a terminal the shelf is drawn live from the controller's registers, the web page's address
and login (with --web) kept under its header; otherwise (or with --plain) every activity line is
printed as it happens, with text pictures of the shelf. Stopped early (Ctrl-C, SIGTERM, its
terminal closed), even while it starts, it ends the scenario, stops the page, the daemon and the
broker in that order (nothing loses its link on the way; a second signal does not cut this
short), and prints its summary of what ran. On a broker of one's own (--broker) it is a gateway
of a name of its own, so that demos beside it there go on undisturbed; it clears, at its end,
what it left retained there, and at its start what earlier runs that run no more left there.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

from edge.cli.as_typed import rxedge_as_typed
from edge.cli.procurement.request_lines import request_line
from edge.cli.procurement.status import STATUS_COMMAND, TAKEN, describe_taken
from edge.cli.shelf_commands import describe_result
from edge.daemon.activity import Activity
from edge.daemon.gateway import Gateway
from edge.demo.broker_cleanup import earlier_runs_cleared, own_traces_cleared
from edge.demo.centre import Answer, DemoCentre
from edge.demo.clerk import CLERK
from edge.demo.gateway_config import DemoPorts, demo_config, free_metrics_listen
from edge.demo.ledger_file import latest_count, request_states
from edge.demo.local_broker import LocalBroker
from edge.demo.script import Scenario, pick_movements
from edge.demo.stage import Stage
from edge.demo.stock import (
    FOREIGN_TAG,
    GATEWAY,
    PACKS_PER_LIST,
    SITE,
    SLOTS,
    TAGGED,
    book_delivery,
    product_names,
    slot_labels,
)
from edge.demo.view import DemoView
from edge.service.metrics_address import metrics_url, split_listen
from edge.service.stopping import tidy_up
from edge.settings.config import GatewayConfig, parse_config
from edge.web.demo_page import DEMO_USER, start_demo_page
from edge.web.server import WebSetupError, bind
from firmware_sim.chafon_sim import ChafonSimulator
from firmware_sim.r2000_sim import R2000Simulator
from firmware_sim.scanner_sim import ScannerSimulator
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator
from sync.broker_refusal import BrokerLinkError
from sync.broker_url import MqttProtocol
from sync.procurement_feed import ReceivedRequest
from sync.topics import Topics


class Demo:
    """The demo (with the web page on `web_port`, 0 for a free one); `run` gives 0 when every
    step of the scenario was observed. `broker_url`: a broker of one's own (several,
    comma-separated, are tried in order) instead of a local mosquitto; `protocol`: the MQTT
    version it speaks."""

    def __init__(
        self,
        seconds: float,
        forever: bool,
        db: Path | None,
        broker_url: str | None,
        plain: bool = False,
        web_port: int | None = None,
        protocol: MqttProtocol = "5",
    ):
        self.web_port = web_port
        self.web_url = ""  # the page's address, once it serves
        self.web_login = ""  # how to log in there: the demo account's name and password
        self.broker_left = ""  # what the demo left on a broker of one's own (--broker)
        self.protocol: MqttProtocol = protocol
        self.seconds = seconds
        self.forever = forever
        self.db = db
        self.broker_url = broker_url
        self.live = not plain and sys.stdout.isatty()
        self.requests: list[ReceivedRequest] = []
        # On a broker of one's own other demos may run: each run is a gateway of its own there,
        # which clears only what it left itself.
        self.gateway_name = GATEWAY if broker_url is None else f"gw-{secrets.token_hex(3)}"
        self.stage: Stage | None = None  # once everything started
        self.scenario: asyncio.Task[bool] | None = None
        self.shelf = ShelfControllerSimulator(slots=SLOTS)
        self.view = DemoView(self.live, self.shelf, slot_labels(), product_names(), self.requests)

    def on_activity(self, activity: Activity) -> None:
        self.view.say(activity.kind, activity.text)

    def on_answer(self, answer: Answer) -> None:
        taken = answer.get("command") == STATUS_COMMAND and answer.get("status") in TAKEN
        said = describe_taken(answer) if taken else describe_result(answer)
        self.view.say("centre", "cmd-result: " + said)

    def on_request(self, request: ReceivedRequest) -> None:
        self.requests.append(request)
        self.view.say("centre", "procurement received: " + request_line(request))

    async def run(self) -> int:
        if self.db is not None and self.db.exists():
            print(
                f"rxedge demo: {self.db} exists; the demo books its delivery into a new ledger, "
                "so give a file name that does not exist yet",
                file=sys.stderr,
            )
            return 2
        if problem := self._web_port_problem():
            print(f"rxedge demo: {problem}", file=sys.stderr)
            return 2
        try:
            with tempfile.TemporaryDirectory(prefix="rxedge-demo-") as workdir:
                return await self._run(Path(workdir))
        finally:
            self.view.restore_terminal()

    def _web_port_problem(self) -> str | None:
        """Why the page cannot have the port `--web` asks for, said before anything starts."""
        if not self.web_port:
            return None
        try:
            bind(f"127.0.0.1:{self.web_port}").close()
        except WebSetupError as exc:
            reason = str(exc).rpartition(": ")[2]
            return (
                f"--web {self.web_port}: cannot listen on 127.0.0.1:{self.web_port}: {reason}; "
                "give another port, or --web 0 for a free one"
            )
        return None

    async def _run(self, workdir: Path) -> int:
        say = self.view.say
        started = time.monotonic()
        db = self.db.resolve() if self.db else workdir / "ledger.sqlite"
        today = datetime.now(UTC).date()
        packs = book_delivery(db, today, self.gateway_name)
        self.view.db = db
        say("demo", f"ledger: {db}" + ("" if self.db else " (temporary; --db to keep)"))
        say("goods-in", f"delivery booked in before the daemon starts: {packs} packs")
        stack = contextlib.AsyncExitStack()
        stopped, refused, ok = False, None, False
        try:
            ok = await self._start_and_play(stack, workdir, db, today, started)
        except asyncio.CancelledError:  # Ctrl-C, SIGTERM, SIGHUP: tidy up, then end
            stopped = True
        except BrokerLinkError as exc:  # the broker given with --broker refused the centre
            refused = exc
        finally:
            stopped = await tidy_up(stack) or stopped
        if refused is not None:
            self.view.restore_terminal()
            print(f"rxedge demo: {refused}", file=sys.stderr)
            return 2
        if stopped and self.scenario is not None:  # what the scenario saw before the stop
            scenario = self.scenario
            ok = scenario.done() and not scenario.cancelled() and scenario.result()
        self._summary(ok, db, time.monotonic() - started, stopped)
        if stopped:
            raise asyncio.CancelledError
        return 0 if ok else 1

    async def _start_and_play(
        self,
        stack: contextlib.AsyncExitStack,
        workdir: Path,
        db: Path,
        today: date,
        started: float,
    ) -> bool:
        """Start the broker, the simulators, the centre, the daemon and the page, each stopped
        by `stack`; then play the scenario (`_play`)."""
        say = self.view.say
        broker_url = self.broker_url
        if broker_url is None:
            broker = LocalBroker(workdir / "broker", detached=True)
            await broker.start()
            stack.push_async_callback(broker.stop)
            broker_url = broker.url
            say("demo", f"broker: mosquitto at {broker_url}")
        else:
            say(
                "demo",
                f"broker: {broker_url}, as gateway {SITE}/{self.gateway_name} (a name of this "
                "run's own: demos beside it there go on undisturbed); whoever watches it gets "
                "the demo's requests and alarms; its retained messages are cleared at the end",
            )
        reader = R2000Simulator(baudrate=115200)
        scanner = ScannerSimulator(baudrate=9600)
        goods_in = ScannerSimulator(baudrate=9600)
        handheld = ChafonSimulator()
        for device in (reader, scanner, goods_in, handheld, self.shelf):
            stack.push_async_callback(device.stop)
            await device.start()
        for packs_on in TAGGED:
            for serial in range(1, packs_on.count + 1):
                reader.place(packs_on.antenna, packs_on.epc(serial))
        reader.place(4, FOREIGN_TAG)
        say(
            "demo",
            f"simulators: R2000 reader (115200 baud) on {reader.port}, GS1 scanners on "
            f"{scanner.port} and {goods_in.port} (goods-in), Chafon handheld on "
            f"{handheld.port}, shelf controller (Modbus TCP, {SLOTS} slots) on port "
            f"{self.shelf.port}",
        )
        topics = Topics(SITE, self.gateway_name)
        centre = DemoCentre(broker_url, topics, self.on_answer, self.on_request, self.protocol)
        stack.push_async_callback(centre.stop)
        await centre.start()
        ports = DemoPorts(reader.port, scanner.port, goods_in.port, handheld.port, self.shelf.port)
        metrics = free_metrics_listen()
        if metrics:
            say("demo", f"metrics: {metrics_url(*split_listen(metrics))} (rxedge status)")
        else:
            say("demo", "metrics: off (the default address is taken: a gateway, a demo?)")
        config = parse_config(
            demo_config(db, broker_url, ports, self.protocol, metrics, self.gateway_name)
        )
        if self.broker_url is not None:  # once the daemon stopped (callbacks run last first)
            stack.push_async_callback(self._clear_broker, config)
            say("demo", await earlier_runs_cleared(config))
        gateway = Gateway(config, observer=self.on_activity)
        daemon = asyncio.create_task(gateway.run())
        stack.push_async_callback(self._stop_daemon, gateway, daemon)
        self.view.gateway = gateway
        await self.view.start()
        stack.push_async_callback(self.view.stop)  # the last frame, while the daemon runs
        if self.web_port is not None:
            await gateway.ready.wait()
            page, password = await start_demo_page(config, workdir, self.web_port)
            stack.push_async_callback(page.stop)
            self.web_url = page.url
            self.web_login = f"log in as {DEMO_USER}, password {password}"
            self.view.page = f"web page {page.url}  user {DEMO_USER}  password {password}"
            say("web", f"web page: {page.url} ({self.web_login})")
        self.stage = stage = Stage(
            gateway,
            reader,
            scanner,
            self.shelf,
            centre,
            self.view,
            db,
            today,
            started + self.seconds,
            goods_in=goods_in,
            handheld=handheld,
            target=(
                *("--broker", broker_url, "--mqtt-protocol", self.protocol),
                *("--site", SITE, "--gateway", self.gateway_name),
            ),
        )
        self.scenario = scenario = asyncio.create_task(Scenario(stage).run(), name="scenario")
        stack.push_async_callback(_end_scenario, scenario)  # first, once stopped
        return await self._play(scenario, daemon)

    async def _play(self, scenario: asyncio.Task[bool], daemon: asyncio.Task[None]) -> bool:
        """Whether the scenario observed every step; with --forever, after it, wait for Ctrl-C."""
        say = self.view.say
        await asyncio.wait([scenario, daemon], return_when=asyncio.FIRST_COMPLETED)
        if scenario.done():
            ok = scenario.result()
        else:  # the daemon ended by itself: nothing more can be observed
            scenario.cancel()
            error = None if daemon.cancelled() else daemon.exception()
            say("demo", f"the daemon stopped during the scenario: {error!r}")
            ok = False
        if not ok:
            await self.view.snapshot("where the scenario stopped")
        if self.forever:
            running = "the daemon and the web page run" if self.web_url else "the daemon runs"
            self.view.step(f"scenario done; {running} on until Ctrl-C")
            say("demo", f"scenario done; {running} on until Ctrl-C")
            if self.web_url:
                say("web", f"web page: {self.web_url} ({self.web_login})")
            # Not `await daemon`: a stop signal would cancel the daemon mid-work; it is stopped
            # in turn, as at the end of any run.
            await asyncio.wait([daemon])
        return ok

    async def _clear_broker(self, config: GatewayConfig) -> None:
        """Take the demo's retained messages and its gateway's session off a broker of one's own."""
        self.broker_left = await own_traces_cleared(config)

    async def _stop_daemon(self, gateway: Gateway, daemon: asyncio.Task[None]) -> None:
        self.view.gateway = None  # its writer stops: nothing may ask it questions any more
        gateway.stop()
        with contextlib.suppress(Exception):
            await daemon

    def _summary(self, ok: bool, db: Path, took: float, stopped: bool) -> None:
        print("\nsummary")
        if self.stage is None:
            print("  result:               stopped (Ctrl-C or a signal) during start-up")
        else:
            self._scenario_summary(self.stage, ok, db, stopped)
        print(f"  run time:             {took:.1f} s")
        kept = f"{db}" if self.db else "removed with the demo's temporary files (--db keeps it)"
        print(f"  ledger:               {kept}")
        if self.broker_left:
            print(f"  broker:               {self.broker_left}")
        if self.web_url:
            print(f"  web page:             {self.web_url}, stopped with the demo")
            print(f"{'':24}{self.web_login}")
            if not self.forever:
                print(f"{'':24}to keep it up: {rxedge_as_typed()} demo --web 0 --forever")

    def _scenario_summary(self, stage: Stage, ok: bool, db: Path, stopped: bool) -> None:
        gateway = stage.gateway
        picks = [m for m in pick_movements(db) if m[0] in PACKS_PER_LIST]
        done = [p for p in PACKS_PER_LIST if stage.centre.of(p, "done")]
        if ok:
            print(f"  result:               scenario complete{', then stopped' if stopped else ''}")
        elif stopped:
            print("  result:               stopped (Ctrl-C or a signal) before the scenario ended")
        else:
            print("  result:               scenario NOT complete")
        for check in stage.checks:
            if check.error:  # a command the step ran failed: time had nothing to do with it
                print(f"  step failed:          {check.what}: {check.error}")
        late = [c.what for c in stage.checks if not c.passed and not c.error]
        if late and not stopped:  # such a check fails only when the deadline passes unobserved
            print(f"  not observed within --seconds {self.seconds:g}: {'; '.join(late)}")
            print("  (a longer --seconds gives a slow or busy machine more time)")
        passed = sum(c.passed for c in stage.checks)
        print(f"  checks observed:      {passed} of {len(stage.checks)}")
        print(f"  pick lists done:      {len(done)} ({', '.join(done) or 'none'})")
        print(f"  picks booked:         {len(picks)}")
        print(f"  mistakes caught:      {gateway.counters['mistakes']}")
        print(f"  tag reads:            {gateway.counters['tag_reads']}")
        print(f"  foreign tags ignored: {sum(gateway.events.epcs.ignored.values())}")
        print(f"  scans:                {gateway.counters['scans']}")
        print(f"  movements recorded:   {gateway.counters['movements']}")
        print(f"  alarm changes:        {gateway.counters['alarm_changes']}")
        states = request_states(db)
        print(f"  requests raised:      {len(states)}")
        print(f"  messages published:   {gateway.publisher.sent if gateway.publisher else 0}")
        print(f"  requests received:    {len(self.requests)}")
        answers = Counter(stage.answers)
        said = ", ".join(f"{state} {n}" for state, n in answers.items())
        print(f"  clerk's answers:      {len(stage.answers)} ({said or 'none'}) by {CLERK}")
        names = product_names()
        for n, state in enumerate(states.values()):
            name = names.get(state.gtin, state.gtin)
            got = f" ({state.received} of {state.quantity} packs)" if state.received else ""
            print(f"  {'requests now:' if n == 0 else '':22}{name}: {state.status}{got}")
        count = latest_count(db)
        if count is None or count.report is None:
            print("  stocktake:            none")
        else:
            c = count.report.summary()
            standing = f"confirmed by {count.confirmed_by}" if count.confirmed_by else count.state
            print(
                f"  stocktake:            {count.stocktake_id} of shelf {count.shelf}, {standing}"
            )
            print(
                f"{'':24}{c['seen']} of {c['expected']} packs seen: {c['missing']} "
                f"missing, {c['unexpected']} extra, {c['misplaced']} misplaced"
            )


async def _end_scenario(scenario: asyncio.Task[bool]) -> None:
    """Stop the scenario (a stop signal came), before what it acts on stops."""
    scenario.cancel()
    await asyncio.wait([scenario])
