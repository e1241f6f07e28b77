"""Find at the counter never guides to a held pack: the usable packs come first, earliest expiry
first (take from the top), the held ones (expired, quarantined, recalled) after them, each marked
not to be taken; "Light the slots" lights the usable packs' slots only, and a drug with no
usable pack is told as such, on the page and in the answer to the click."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from playwright.async_api import expect

from edge.demo.local_broker import LocalBroker
from edge.lights.light_plan import HELD_LIGHT
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.pick_rig import AMOX, IBU, PREFIX, results
from tests.web.page_rig import artifacts, page_rig

SECOND = 5_000  # ms: generous under load


async def test_find_lists_the_usable_packs_first_and_marks_the_held_ones_not_to_take(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    centre = subscribe(f"{PREFIX}/cmd-result")
    async with page_rig(tmp_path, broker) as web:
        tab = await web.logged_in_tab()
        await tab.goto(f"{web.url}/find?q=amoxicillin")
        answer = tab.locator(f'[data-gtin="{AMOX}"]')
        await expect(answer).to_contain_text(
            "4 pack(s) usable on the shelves; earliest expiry first (take from the top)."
        )
        rows = answer.locator("tbody tr")
        texts = [" ".join(t.split()) for t in await rows.all_inner_texts()]
        assert [t.split()[0] for t in texts] == ["A-02", "A-01", "Held:", "A-03", "A-04", "A-05"]
        assert texts[2] == "Held: do not take"
        assert "available" in texts[0] and "do not take" not in texts[0] + texts[1]
        assert "quarantined, expired: do not take" in texts[3]  # OLD, held by the sweep
        assert "quarantined: do not take" in texts[4]  # HELD
        assert "quarantined, recalled: do not take" in texts[5]  # BAD
        await expect(answer.locator("tr.usable")).to_have_count(2)
        await tab.screenshot(path=str(artifacts() / "find-held.png"), full_page=True)

        await answer.get_by_role("button", name="Light the slots").click()
        flash = tab.locator(".flash")
        await expect(flash).to_contain_text(
            "the usable packs only: A-02 (1), A-01 (3).", timeout=SECOND
        )
        await expect(flash).not_to_contain_text("A-03")
        assert await web.rig.shows("A-03", HELD_LIGHT), "the expired batch's slot stays red"

        for batch in ("I1", "I2"):  # every ibuprofen pack on the shelves held
            recall = {"gtin": IBU, "batch": batch, "note": "supplier notice"}
            centre.publish(f"{PREFIX}/cmd/recall", json.dumps(with_envelope(recall)))
            await eventually(lambda b=batch: results(centre, f"{IBU}/{b}"), what="recalled")
        await tab.goto(f"{web.url}/find?q=ibuprofen")
        answer = tab.locator(f'[data-gtin="{IBU}"]')
        await expect(answer).to_contain_text(
            "No usable pack on the shelves: every pack below is held, do not take."
        )
        await expect(answer.locator("tr.usable")).to_have_count(0)
        await expect(answer.locator("tr.unusable")).to_have_count(2)
        await answer.get_by_role("button", name="Light the slots").click()
        await expect(flash).to_contain_text(
            f"No usable pack of GTIN {IBU} on the shelves: nothing lit.", timeout=SECOND
        )
