"""The metrics endpoint's HTTP server under clients that hold connections: idle connections
beyond its limit are answered 503 at once, and the scrapes come back when they go."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Counter

from edge.service.metrics import MAX_SCRAPES, serve_metrics
from tests.conftest import eventually


@pytest.fixture
def url() -> Iterator[str]:
    registry = CollectorRegistry()
    Counter("rxedge_test_scrapes", "A counter to scrape.", registry=registry).inc()
    server = serve_metrics("127.0.0.1", 0, registry)
    yield f"http://127.0.0.1:{server.server_address[1]}/metrics"
    server.shutdown()
    server.server_close()


def scrape(url: str) -> int:
    """The HTTP status of one scrape (the body checked when it is 200)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            assert b"rxedge_test_scrapes_total 1.0" in answer.read()
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code


async def test_idle_connections_beyond_the_limit_get_503_and_scrapes_return_once_they_go(
    url: str,
) -> None:
    host, port = url.split("/")[2].split(":")
    idle = [socket.create_connection((host, int(port))) for _ in range(MAX_SCRAPES)]
    try:
        assert await eventually(lambda: scrape(url) == 503, what="a scrape refused as busy")
    finally:
        for connection in idle:
            connection.close()
    assert await eventually(lambda: scrape(url) == 200, what="scrapes served again")
