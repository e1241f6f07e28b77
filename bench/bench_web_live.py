"""The web page live: from an LED write to the browsers' DOM, and what browsers cost the daemon.

The daemon runs here as in bench_pick_latency (its scan -> LED write timed the same way); the
web page runs as its own process (`rxedge web`, as rxedge-web.service does) with 20 browsers
connected: one headless Chromium window (Debian's chromium, driven by Playwright) on the shelf
map, and 19 more as the gateway sees a browser (bench.web_clients: the event stream held, the
view's live part fetched again after each nudge, as the page's script does). Rendering is the
tablets' work, not the gateway's: 20 Chromium windows on this machine's two cores would time
Chromium, not the gateway. The page runs at nice 10 as its unit has it (Nice=10); the 19
clients and the Chromium window stand for tablets, whose CPU is not the gateway's, and run under
the idle scheduling policy (`chrt --idle`): on the CPU only when the gateway's processes leave
it, as on a tablet of their own.

Every LED write the daemon hands its shelf bus is stamped (wall clock); the Chromium window
stamps (the same wall clock) the moment its shelf map shows that light. The daemon's scan -> LED
write is timed without the page and with the page and its 20 browsers, in rounds taking turns
(6 rounds of 100 scans of each kind on each side), the rounds' scans pooled. A scan comes 0.15 s
after the last one's LED write, a quick hand at the shelf (`--gap` to change it: at 0.025 s, 30
and more scans a second, the page's work for one scan falls on the next).

Goals (the page's issue): LED write -> DOM p99 <= 500 ms; with 20 browsers the daemon's
scan -> LED p99 moves by less than 10 %.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from playwright.async_api import async_playwright

from bench.bench_pick_latency import scan_to_led
from bench.report import header, row
from drivers.modbus.lights import SlotLight
from edge.daemon.gateway import Gateway
from tests.web.page_rig import CHROMIUM, CHROMIUM_ARGS

BROWSERS = 20  # one Chromium window, the others bench.web_clients
PACE = 0.15  # seconds from one scan's LED write to the next scan: a quick hand
# In every window: the wall-clock moment each slot's light changed on the page.
STAMP_DOM = """
window.__lights = [];
new MutationObserver((changes) => {
  const at = performance.timeOrigin + performance.now();
  for (const change of changes) {
    const el = change.target;
    if (!el.classList || !el.classList.contains("slot") || change.attributeName !== "data-number"
        && change.attributeName !== "data-colour" && change.attributeName !== "data-on") continue;
    window.__lights.push([el.dataset.slot, el.dataset.on, el.dataset.colour, el.dataset.mode,
                          el.dataset.number, at]);
  }
}).observe(document, {subtree: true, attributes: true});
"""


def key(slot: str, light: SlotLight) -> tuple[str, str, str, str, str]:
    return (
        slot,
        "true" if light.on else "false",
        light.colour.name.lower(),
        light.mode.name.lower(),
        str(light.number),
    )


@contextlib.contextmanager
def tablet_disk() -> Iterator[None]:
    """Chromium's profile and cache in memory (/dev/shm where there is one): a tablet writes to
    its own disk, and its writes here would fall on the ledger's fsyncs."""
    memory = Path("/dev/shm")
    if not memory.is_dir():
        yield
        return
    with tempfile.TemporaryDirectory(dir=memory, prefix="rxedge-tablet-") as tmp:
        before = os.environ.get("TMPDIR")
        os.environ["TMPDIR"] = tmp  # where Playwright makes the browser's profile
        try:
            yield
        finally:
            if before is None:
                del os.environ["TMPDIR"]
            else:
                os.environ["TMPDIR"] = before


class Browsers:
    """The page's process and `count` Chromium windows on its shelf map, beside the daemon."""

    def __init__(self, count: int):
        self.count = count
        self.written: list[tuple[tuple[str, str, str, str, str], float]] = []
        self.seen: list[tuple[tuple[str, str, str, str, str], float]] = []

    @contextlib.asynccontextmanager
    async def running(self, gateway: Gateway, work: Path) -> AsyncIterator[None]:
        for bus in gateway.devices.buses:
            bus.set_light = self._stamping(bus.set_light)  # type: ignore[method-assign]
        config = gateway.config
        toml = work / "web.toml"
        toml.write_text(
            f'site = "{config.site}"\ngateway = "{config.gateway}"\n'
            f'database = "{config.database}"\n[broker]\nurl = "{config.broker.url}"\n'
            f'[metrics]\nlisten = ""\n[web]\nusers_file = "{work / "users.json"}"\n'
            + "".join(
                f'[[shelves]]\nname = "{s.name}"\nhost = "127.0.0.1"\nslots = {s.slots}\n'
                for s in config.shelves
            )
        )
        page = await asyncio.create_subprocess_exec(
            "nice",
            "-n10",
            sys.executable,
            "-m",
            "edge.cli",
            "web",
            "--config",
            str(toml),
            "--listen",
            "127.0.0.1:0",
            stdout=asyncio.subprocess.PIPE,
        )
        assert page.stdout is not None
        line = (await asyncio.wait_for(page.stdout.readline(), 30)).decode()
        found = re.search(r"at (http://\S+)", line)
        assert found, line
        clients = await asyncio.create_subprocess_exec(
            "chrt",
            "--idle",
            "0",
            sys.executable,
            "-m",
            "bench.web_clients",
            found.group(1),
            str(self.count - 1),
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert clients.stdout is not None
            await asyncio.wait_for(clients.stdout.readline(), 30)  # "ready"
            with tablet_disk():
                async with async_playwright() as playwright:
                    tablet = work / "chromium-tablet"  # Chromium idle-scheduled, as the clients
                    tablet.write_text(f'#!/bin/sh\nexec chrt --idle 0 {CHROMIUM} "$@"\n')
                    tablet.chmod(0o755)
                    browser = await playwright.chromium.launch(
                        executable_path=str(tablet), args=CHROMIUM_ARGS
                    )
                    context = await browser.new_context(viewport={"width": 1024, "height": 768})
                    await context.add_init_script(STAMP_DOM)
                    window = await context.new_page()
                    await window.goto(found.group(1) + "/shelves")
                    await window.wait_for_selector('#live-link[data-state="live"]')
                    yield
                    await asyncio.sleep(1.0)  # the last lights reach the window
                    stamps: list[Any] = await window.evaluate("window.__lights")
                    self.seen = [(tuple(s[:5]), s[5] / 1000) for s in stamps]
                    await browser.close()
        finally:
            for process in (clients, page):
                process.terminate()
                await process.wait()

    def _stamping(self, set_light: Any) -> Any:
        def stamped(controller: str, index: int, light: SlotLight) -> None:
            self.written.append((key(f"{controller}-{index + 1:02d}", light), time.time()))
            set_light(controller, index, light)

        return stamped

    def latencies(self) -> list[float]:
        """LED write -> that light on the page: each change the window showed, from the last
        write of that very light to its slot before it (a light shown again later is its own
        write's)."""
        found = []
        for light, shown in self.seen:
            writes = [at for key, at in self.written if key == light and at <= shown + 0.002]
            if writes:
                found.append(shown - writes[-1])
        return found


async def measure(scans: int, browsers: int, rounds: int, gap: float) -> None:
    # Rounds without and with the page taking turns, their scans pooled: the machine's other
    # load drifts over a run, and would otherwise fall on one side of the comparison.
    alone: tuple[list[float], list[float]] = ([], [])
    watched: tuple[list[float], list[float]] = ([], [])
    dom: list[float] = []
    for _ in range(rounds):
        for pooled, beside in ((alone, None), (watched, Browsers(browsers))):
            timings = await scan_to_led(scans // rounds, beside, gap)
            for index in (0, 1):
                pooled[index].extend(timings[index])
            if beside is not None:
                dom.extend(beside.latencies())
    header(
        f"Web page live: LED write -> DOM, and the daemon's scan -> LED write with {browsers} "
        f"browsers connected ({scans} scans each, in {rounds} rounds of each, "
        f"{gap:g} s between scans)"
    )
    q = statistics.quantiles(dom, n=100)
    row("LED write -> DOM, p50", statistics.median(dom) * 1e3, "ms", note=f"{len(dom)} updates")
    row("LED write -> DOM, p99 (goal <= 500 ms)", q[98] * 1e3, "ms")
    for name, index in (("right pack", 0), ("wrong pack", 1)):
        for figure, at in (("p50", 49), ("p99", 98)):
            before = statistics.quantiles(alone[index], n=100)[at]
            after = statistics.quantiles(watched[index], n=100)[at]
            row(f"scan -> LED {figure}, {name}, no page", before * 1e6, "us")
            row(
                f"scan -> LED {figure}, {name}, {browsers} browsers",
                after * 1e6,
                "us",
                after / before,
                "x without" + (" (goal < 1.1x)" if figure == "p99" else ""),
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 scans of each kind, 4 browsers")
    parser.add_argument(
        "--gap", type=float, default=PACE, help=f"seconds between scans (default {PACE})"
    )
    args = parser.parse_args(argv)
    if args.quick:
        asyncio.run(measure(20, 4, 1, 0.025))
    else:
        asyncio.run(measure(600, BROWSERS, 6, args.gap))


if __name__ == "__main__":
    main()
