"""The daemon as the benchmarks run it: site `bench`, gateway `g1`, a new ledger under the
work folder, the benchmark's local broker and one shelf controller `A`."""

from __future__ import annotations

from pathlib import Path

from edge.settings.config import GatewayConfig, parse_config


def bench_config(
    work: Path, broker_url: str, shelf_port: int, slots: int, **sections: object
) -> GatewayConfig:
    """That configuration with shelf A of `slots` slots on `shelf_port`, and `sections`
    (readers, scanners, metrics, ...) as given."""
    return parse_config(
        {
            "site": "bench",
            "gateway": "g1",
            "database": str(work / "ledger.sqlite"),
            "create_database": True,
            "broker": {"url": broker_url},
            "shelves": [{"name": "A", "host": "127.0.0.1", "port": shelf_port, "slots": slots}],
            **sections,
        }
    )
