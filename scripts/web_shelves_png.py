"""Take docs/web-shelves.png again from the page as it is now: `rxedge demo --web 0` runs, Debian's
Chromium (driven by Playwright; never a downloaded browser) opens its Shelves view on a tablet's
1024 x 768, and the picture is taken while both pick lists are lit (green and blue, with the
count to take) and the expired batch is held in red. The demo is then stopped with Ctrl-C.

    .venv/bin/python scripts/web_shelves_png.py [OUT.png]
"""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path

from playwright.async_api import Page, async_playwright, expect

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGE_LINE = re.compile(r"web page: (http://127\.0\.0\.1:\d+) ")
# The moment to take: both lists lit, the expired batch held (about 3 to 6 s into the demo).
LIT = {"A-01": "green", "A-09": "green", "A-11": "red", "A-12": "blue"}


async def page_address(demo: asyncio.subprocess.Process) -> str:
    """The page's address, from the line the demo prints when it serves."""
    assert demo.stdout is not None
    while True:
        line = (await asyncio.wait_for(demo.stdout.readline(), 60)).decode()
        if not line:
            raise SystemExit("the demo ended without printing its page's address")
        if found := PAGE_LINE.search(line):
            return found[1]


async def when_lit(tab: Page) -> None:
    for slot, colour in LIT.items():
        cell = tab.locator(f'.slot[data-slot="{slot}"]')
        await expect(cell).to_have_attribute("data-colour", colour, timeout=20_000)
        await expect(cell).to_have_attribute("data-on", "true")


async def main(out: Path) -> None:
    demo = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "edge.cli.main", "demo", "--web", "0", "--plain", "--forever"),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert demo.stdout is not None
    try:
        url = await page_address(demo)
        # Read on, or the demo would stop at a full pipe.
        drain = asyncio.create_task(demo.stdout.read())
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            tab = await browser.new_page(viewport={"width": 1024, "height": 768})
            await tab.goto(f"{url}/shelves")
            await expect(tab.locator("#live-link")).to_have_attribute("data-state", "live")
            await when_lit(tab)
            await tab.screenshot(path=str(out))
            await browser.close()
    finally:
        demo.send_signal(signal.SIGINT)  # the demo stops its broker and page, and tidies up
        await demo.wait()
    await drain
    print(f"wrote {out}")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "web-shelves.png"))
