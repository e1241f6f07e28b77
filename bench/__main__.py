"""`make bench`: every benchmark, one after the other, each in its own process with a time
limit; a benchmark that overruns or fails is named, and the run ends with exit status 1."""

from __future__ import annotations

import subprocess
import sys

from bench import BENCHMARKS


def main() -> int:
    failed: list[str] = []
    for name, limit in BENCHMARKS.items():
        try:
            done = subprocess.run([sys.executable, "-m", f"bench.{name}"], timeout=limit)
        except subprocess.TimeoutExpired:
            print(f"\n!! bench.{name} overran its limit of {limit:.0f} s and was stopped")
            failed.append(f"{name} (overran {limit:.0f} s)")
            continue
        if done.returncode != 0:
            print(f"\n!! bench.{name} failed (exit status {done.returncode})")
            failed.append(f"{name} (exit status {done.returncode})")
    if failed:
        print(f"\nbenchmarks that did not finish: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
