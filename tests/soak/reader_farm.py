"""Fixed R2000 readers for the soak test, in a process of their own so that pacing several lines
at 115200 baud does not slow the test's loop: N simulated readers on ptys named r0 .. r{N-1} in
`--links`, each answering inventory rounds at once (the line's pace is the only limit).

Commands on stdin, one a line, each answered with one JSON line on stdout:
  place READER ANTENNA EPC_HEX   a pack into an antenna's field
  remove EPC_HEX                 a pack out of every field
  stats                          {"reads": tag rows sent, "bytes": bytes sent} over all readers
  stop                           the same figures, then the readers stop
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from firmware_sim.r2000_sim import R2000Simulator


def _figures(readers: list[R2000Simulator]) -> dict[str, int]:
    return {
        "reads": sum(r.total_reads for r in readers),
        "bytes": sum(r.line.bytes_sent for r in readers),
    }


def _obey(readers: list[R2000Simulator], words: list[str]) -> dict[str, object]:
    if words[:1] == ["place"] and len(words) == 4:
        readers[int(words[1])].place(int(words[2]), bytes.fromhex(words[3]))
        return {"ok": True}
    if words[:1] == ["remove"] and len(words) == 2:
        found = [r.remove(bytes.fromhex(words[1])) for r in readers]
        return {"ok": any(found)}
    if words == ["stats"]:
        return {"ok": True, **_figures(readers)}
    return {"ok": False, "error": f"unknown command {' '.join(words)!r}"}


async def farm(links: Path, count: int) -> None:
    readers = [R2000Simulator(link=links / f"r{n}", round_time=0.0) for n in range(count)]
    for reader in readers:
        await reader.start()
    print(json.dumps({"ready": True, "ports": [r.port for r in readers]}), flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        words = line.split()
        if not line or words == ["stop"]:
            break
        print(json.dumps(_obey(readers, words)), flush=True)
    print(json.dumps({"ok": True, **_figures(readers)}), flush=True)
    for reader in readers:
        await reader.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--links", type=Path, required=True)
    parser.add_argument("--readers", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(farm(args.links, args.readers))


if __name__ == "__main__":
    main()
