"""Run in a fresh process: open a ledger as the daemon does and report time and peak RSS."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM: unlike ru_maxrss, not inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def main() -> None:
    path, check = Path(sys.argv[1]), sys.argv[2]
    started = time.perf_counter()
    from inventory.keeper import InventoryKeeper  # imports are part of a cold start

    imported = time.perf_counter()
    keeper = InventoryKeeper(path, {}, "bench", "g1", integrity_check=check)
    opened = time.perf_counter()
    print(
        json.dumps(
            {
                "seconds": opened - started,
                "import_seconds": imported - started,
                "stock_lines": keeper.index.line_count(),
                "movements": keeper.ledger.count,
                "rss_mb": peak_rss_mb(),
            }
        )
    )


if __name__ == "__main__":
    main()
