"""The link to a NATS cluster: a connection that moves to another node by itself, and the
check that refuses plain NATS across the network unless chosen."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

import nats
from nats.aio.client import Client as Nats
from nats.errors import NoServersError

from sync.broker_security import is_loopback

log = logging.getLogger(__name__)


class NatsUnavailable(Exception):
    """No NATS server answered; the message names the servers tried."""


async def connect(servers: list[str], name: str, timeout: float = 10.0) -> Nats:
    """A connection to any of `servers` that reconnects to the others by itself."""
    try:
        return await asyncio.wait_for(
            nats.connect(
                servers,
                name=name,
                connect_timeout=2,
                reconnect_time_wait=0.5,
                max_reconnect_attempts=-1,
                allow_reconnect=True,
                error_cb=_connection_trouble,
                disconnected_cb=_disconnected,
                reconnected_cb=_reconnected,
            ),
            timeout,
        )
    except (NoServersError, OSError, TimeoutError) as exc:
        raise NatsUnavailable(
            f"no NATS server answered at {', '.join(map(_shown, servers))} "
            f"({exc or type(exc).__name__})"
        ) from None


def plain_text_problem(url: str) -> str | None:
    """Why plain NATS to `url` is not safe without an explicit choice, or None: `nats://` (the
    default scheme) to a host that is not this machine carries the requests, the answers and
    any password readable and changeable on the way."""
    split = urlsplit(url if "://" in url else f"nats://{url}")
    if split.scheme != "nats" or is_loopback(split.hostname or ""):
        return None
    return (
        f"{_shown(url)} is plain NATS to a host that is not this machine: anyone on the way can "
        "read and change the requests, the answers and the password"
    )


def _shown(url: str) -> str:
    """A server's URL as said in a message: without the user and password it may carry."""
    scheme, sep, rest = url.rpartition("://")
    return f"{scheme}{sep}{rest.rpartition('@')[2]}"


async def _connection_trouble(error: Exception) -> None:
    # nats-py would print a traceback for each: a node going away is expected, and retried.
    log.info("NATS: %r", error)


async def _disconnected() -> None:
    log.info("NATS: disconnected")


async def _reconnected() -> None:
    log.info("NATS: reconnected")
