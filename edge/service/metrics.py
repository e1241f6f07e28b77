"""The gateway's Prometheus endpoint: its own registry, the few things it counts itself, the
ledger gauges it refreshes, and the HTTP server (a thread of its own, never the event loop).

The gateway hands its driver events and activity through `counting` and `observing` (a counter
increment each, no Prometheus object touched per tag read), times its changes with
`tallies.commits.timed`, wraps the publisher's outbox calls with `publishes`, and runs `run`
as one of its tasks. Metric names and meanings: docs/metrics.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from socketserver import ThreadingMixIn
from typing import Any, TypeVar
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.platform_collector import PlatformCollector

from drivers.events import ButtonPressed, DriverEvent, TagSeen
from edge.clock import Clock
from edge.daemon.activity import Activity, Observer
from edge.service.latency import PublishTimer
from edge.service.metrics_address import metrics_url, split_listen
from edge.service.metrics_collector import GatewayCollector, LedgerFigures, Tallies, Watched
from edge.service.process_figures import ProcessFigures
from edge.settings.config import MetricsConfig
from inventory.keeper import InventoryKeeper

log = logging.getLogger(__name__)
T = TypeVar("T")
Emit = Callable[[DriverEvent], None]
Ask = Callable[[Callable[[InventoryKeeper], T]], Awaitable[T]]
# How often the server's thread looks for a request to stop: the longest a gateway's shutdown
# waits for it.
SERVER_POLL_SECONDS = 0.1
# Scrapes served at once, each on its own thread; a connection beyond them is answered 503 at
# once. A connection that sends nothing is closed after SCRAPE_IDLE_SECONDS, so idle or slow
# clients cannot hold the threads.
MAX_SCRAPES = 8
SCRAPE_IDLE_SECONDS = 10.0
_BUSY = b"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


def read_ledger_figures(keeper: InventoryKeeper) -> LedgerFigures:
    """On the ledger's writer: the outbox, live alarms by kind, open pick lists, and the
    products short (one vectorized pass over every product's stock)."""
    oldest = keeper.outbox.waiting_since()
    alarms: dict[str, int] = {}
    for alarm in keeper.alarms.live():
        alarms[str(alarm.kind)] = alarms.get(str(alarm.kind), 0) + 1
    return LedgerFigures(
        outbox_depth=keeper.outbox.depth(),
        outbox_oldest=None if oldest is None else datetime.fromisoformat(oldest[1]).timestamp(),
        alarms=alarms,
        pick_lists=len(keeper.picks.lists),
        products_short=len(keeper.shortages()),
    )


class GatewayMetrics:
    """One gateway's metrics; several gateways in one process each have their own registry."""

    def __init__(self, gateway: Watched, config: MetricsConfig, clock: Clock):
        self.config = config
        self.tallies = Tallies(clock)
        self.publishes = PublishTimer(self.tallies.publishes, clock.monotonic)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(GatewayCollector(gateway, self.tallies))
        self.registry.register(ProcessFigures())  # what ProcSubset=pid leaves to read
        PlatformCollector(registry=self.registry)
        self.url: str | None = None  # where the endpoint listens, once it does
        self._server: WSGIServer | None = None

    def counting(self, forward: Emit) -> Emit:
        """`forward`, after counting tag reads per reader and button presses per controller."""
        tag_reads, presses = self.tallies.tag_reads, self.tallies.presses

        def count_and_forward(event: DriverEvent) -> None:
            if type(event) is TagSeen:
                tag_reads[event.reader] += 1
            elif type(event) is ButtonPressed:
                presses[event.controller] += event.presses
            forward(event)

        return count_and_forward

    def observing(self, forward: Observer) -> Observer:
        """`forward`, after counting the commands the gateway answers with a refusal."""

        def count_and_forward(activity: Activity) -> None:
            if activity.kind == "refusal":  # answered with an error on cmd-result
                self.tallies.commands_refused += 1
            forward(activity)

        return count_and_forward

    async def run(self, ask: Ask[LedgerFigures]) -> None:
        """Serve the endpoint (when configured) and refresh the ledger gauges until cancelled."""
        self._serve()
        try:
            while True:
                try:
                    figures = await ask(read_ledger_figures)
                    now = self.tallies.clock.monotonic()
                    self.tallies.figures = replace(figures, read_at=now)
                except Exception as exc:  # stale gauges, not a stopped gateway
                    log.warning("metrics: reading the ledger's figures failed: %s", exc)
                await asyncio.sleep(self.config.refresh_seconds)
        finally:
            server, self._server = self._server, None
            if server is not None:
                await asyncio.to_thread(_close, server)

    def _serve(self) -> None:
        if not self.config.listen:
            return
        host, port = split_listen(self.config.listen)
        try:
            server = serve_metrics(host, port, self.registry)
        except OSError as exc:
            log.error(
                "metrics: cannot listen on %s (%s); the gateway runs without its metrics endpoint",
                self.config.listen,
                exc,
            )
            return
        self._server = server
        self.url = metrics_url(host, int(server.server_address[1]))
        log.info("metrics at %s", self.url)


class _QuietHandler(WSGIRequestHandler):
    timeout = SCRAPE_IDLE_SECONDS

    def log_message(self, format: str, *args: Any) -> None:  # a scrape is not news
        pass


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True

    def server_activate(self) -> None:
        self.scrapes = threading.BoundedSemaphore(MAX_SCRAPES)
        super().server_activate()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.scrapes.acquire(blocking=False):
            with contextlib.suppress(OSError):
                request.sendall(_BUSY)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self.scrapes.release()  # its thread never started
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.scrapes.release()


class _Server6(_Server):
    address_family = socket.AF_INET6


def serve_metrics(host: str, port: int, registry: CollectorRegistry) -> WSGIServer:
    """An HTTP server for `registry` on its own thread (a thread per scrape, at most
    MAX_SCRAPES at once)."""
    server_class = _Server6 if ":" in host else _Server
    server = make_server(
        host, port, make_wsgi_app(registry), server_class, handler_class=_QuietHandler
    )
    threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": SERVER_POLL_SECONDS},
        name="metrics-http",
        daemon=True,
    ).start()
    return server


def _close(server: WSGIServer) -> None:
    server.shutdown()
    server.server_close()
