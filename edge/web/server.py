"""Serving the page: its socket (web.listen), TLS (web.cert_file/key_file), trusted proxy
headers (web.behind_proxy), the accounts file and the broker account, checked at start with
what to do about each problem."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import uvicorn

from edge.clock import Clock
from edge.service.metrics_address import split_listen
from edge.settings.config import GatewayConfig
from edge.settings.host_checks import CREATE_HINT, RESTORE_HINT
from edge.settings.limits import listen_problem
from edge.settings.web import file_problems, plain_text_problem
from edge.web.accounts import Accounts
from edge.web.app import build_app
from edge.web.live import LiveFeed
from edge.web.reading import LedgerReader
from edge.web.request_limits import (
    MAX_CONNECTIONS_PER_ADDRESS,
    connection_limit,
    guarded_protocol,
)
from edge.web.state import WebState
from sync.broker_security import (
    BrokerLink,
    BrokerSecurity,
    read_password_file,
)
from sync.topics import Topics

log = logging.getLogger(__name__)


class WebSetupError(Exception):
    """The page cannot start; the message names the setting and the fix."""


@dataclass(slots=True)
class RunningPage:
    """A page being served: its address and how to end it."""

    url: str
    state: WebState
    server: uvicorn.Server
    task: asyncio.Task[None]

    async def stop(self) -> None:
        self.server.should_exit = True
        await asyncio.wait_for(self.task, 10)


class _Server(uvicorn.Server):
    """Signals belong to the caller (`rxedge web`, the demo): the page ends when told to."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def web_client_id(config: GatewayConfig) -> str:
    """The MQTT client id of the page's live feed: the gateway's broker.client_id with `-web`
    after it (two gateways given ids of their own give their pages ids of their own), or
    without broker.client_id, `rxedge-web-{site}-{gateway}`."""
    if config.broker.client_id:
        return f"{config.broker.client_id}-web"
    return f"rxedge-web-{config.site}-{config.gateway}"


def web_state(config: GatewayConfig, clock: Clock | None = None) -> WebState:
    """The page's state for a gateway's configuration (files checked now); `clock`: the
    page's one clock (the system's unless a test hands in its own)."""
    web = config.web
    problems = file_problems(web)
    if not config.database.exists():
        problems.append(
            f"database: no ledger at {config.database} yet: the page shows the daemon's "
            f"ledger; if this is a new gateway, {CREATE_HINT}; {RESTORE_HINT}; otherwise "
            "correct the path"
        )
    if problems:
        raise WebSetupError("; ".join(problems))
    security = BrokerSecurity(
        ca_file=config.broker.ca_file,
        username=web.broker_username,
        password=None
        if web.broker_password_file is None
        else read_password_file(web.broker_password_file),
    )
    # The daemon's brokers, in its order: `url` alone is only the default when `urls` is set.
    first, *others = config.broker.addresses
    broker = BrokerLink(first, security, config.broker.protocol, tuple(others))
    reader = LedgerReader(config.database)
    topics = Topics(config.site, config.gateway)
    live = LiveFeed(broker, topics, web_client_id(config), reader)
    return WebState(config, Accounts(web.users_file), reader, live, clock=clock or Clock())


def bind(listen: str) -> socket.socket:
    """A listening socket for `host:port` (port 0: any free one)."""
    host, port = split_listen(listen)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise WebSetupError(f"web.listen: cannot listen on {listen}: {exc.strerror}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def start_page(
    config: GatewayConfig, listen: str | None = None, clock: Clock | None = None
) -> RunningPage:
    """Serve the page in this event loop (as a task); `listen` overrides web.listen."""
    web = config.web
    if listen and (wrong := listen_problem(listen)) is not None:
        raise WebSetupError(f"cannot listen on {listen}: {wrong}")
    listen = listen or web.listen
    if (problem := plain_text_problem(listen, web)) is not None:
        raise WebSetupError(problem)
    state = web_state(config, clock)
    for problem in state.zone_problems:
        log.warning("web: %s", problem)
    sock = bind(listen)
    uvicorn_config = uvicorn.Config(
        build_app(state),
        ssl_certfile=None if web.cert_file is None else str(web.cert_file),
        ssl_keyfile=None if web.key_file is None else str(web.key_file),
        proxy_headers=web.behind_proxy,
        forwarded_allow_ips="127.0.0.1,::1" if web.behind_proxy else None,
        server_header=False,
        # What one client may hold (edge.web.request_limits): behind a proxy every connection
        # is the proxy's, which keeps its own limits.
        http=guarded_protocol(None if web.behind_proxy else MAX_CONNECTIONS_PER_ADDRESS),
        limit_concurrency=connection_limit(),
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    server = _Server(uvicorn_config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="web page")
    try:
        while not server.started:
            if task.done():
                task.result()  # raises what stopped it
                raise WebSetupError("the page stopped while starting")
            await asyncio.sleep(0.02)
    except asyncio.CancelledError:
        # Stopped while it starts (Ctrl-C): it ends its start-up, then stops, as told; left
        # running, it would be cancelled halfway at exit and print a traceback.
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)
        raise
    host, port = sock.getsockname()[:2]
    scheme = "https" if web.cert_file else "http"
    shown = f"[{host}]" if ":" in host else ("127.0.0.1" if host == "0.0.0.0" else host)
    return RunningPage(f"{scheme}://{shown}:{port}", state, server, task)
