"""The configuration file the tests that run the daemon as a process give it: one reader on a
pty link in the test's directory (antenna 1 watches A-01), one 8-slot shelf controller, and a
new ledger created at the first start (create_database)."""

from __future__ import annotations

from pathlib import Path


def write_daemon_config(
    tmp_path: Path, broker_url: str, shelf_port: int, db: Path, dwell_seconds: float = 5.0
) -> Path:
    """Write gateway.toml into `tmp_path`; the reader's link is `tmp_path / "ttyREADER0"`;
    a pack is booked once the reader has seen it for `dwell_seconds` (the default's 5 s)."""
    config = tmp_path / "gateway.toml"
    config.write_text(f"""
site = "s1"
gateway = "g1"
database = "{db}"
create_database = true
[broker]
url = "{broker_url}"
[[readers]]
name = "r1"
port = "{tmp_path / "ttyREADER0"}"
[readers.antennas]
1 = "A-01"
[[shelves]]
name = "A"
host = "127.0.0.1"
port = {shelf_port}
slots = 8
[presence]
dwell_seconds = {dwell_seconds}
""")
    return config
