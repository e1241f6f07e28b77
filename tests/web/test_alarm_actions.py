"""The Alarms view in Chromium says what people need to act on each alarm (the product of a
pack taken by mistake and its slot, where a refused pack lies, why a device is down, what the
ledger check found, a request the centre refused and the proposal left to confirm or since
withdrawn), and held packs taken off the shelf are written off from the page by the person
logged in: an expired batch slot by slot on the Alarms view (its alarm and its slot's red end
with its last pack), a recalled line on the Expiring view; the gateway refuses anything but
quarantined stock, and the page says why. A form sent twice writes off once; the view shows
the newest 500 live alarms and says how many more there are."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path

from playwright.async_api import Locator, expect

from drivers.modbus.lights import DARK
from edge.demo.local_broker import LocalBroker
from edge.lights.light_plan import HELD_LIGHT
from inventory.alarms.lifecycle import AlarmKind
from inventory.changes import RaiseAlarm
from tests.conftest import eventually
from tests.edge.pick_rig import AMOX, IBU
from tests.web.page_rig import EXPIRED, NAME, artifacts, page_rig

EPC = "urn:epc:id:sgtin:4012345.012345.9"  # an amoxicillin pack


def written_off(db: Path) -> list[tuple[str, str, int, str]]:
    with sqlite3.connect(db) as ledger:
        rows = ledger.execute(
            "SELECT from_slot, batch, quantity, actor FROM movements WHERE kind = 'write_off'"
            " ORDER BY id"
        )
        return [tuple(r) for r in rows]


async def test_each_alarm_says_what_is_needed_to_act_on_it(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker) as web:
        gateway = web.rig.gateway
        assert gateway is not None
        # The check at start has passed: the damaged file's alarm below is not cleared by it.
        await eventually(
            lambda: any(a.text == "integrity check passed" for a in web.rig.activity),
            what="the integrity check at start",
        )
        raised = [
            (AlarmKind.UNEXPECTED_REMOVAL, EPC, {"epc": EPC, "slot": "A-03", "reason": "expired"}),
            (AlarmKind.STORAGE, "ledger", {"reason": "row 12 missing from index idx_stock"}),
            (AlarmKind.DEVICE_DOWN, "r1", {"device": "r1", "reason": "/dev/ttyUSB0 closed"}),
            (
                AlarmKind.REFUSED_PACK,
                f"{AMOX}/7",
                {
                    "gtin": AMOX,
                    "batch": "B1",
                    "expiry": "2026-01-01",
                    "serial": "7",
                    "reason": "expired",
                    "why": "expired, yet laid in A-05: held there, take it out",
                    "scanner": "goods-in",
                    "delivery_id": "D-1",
                    "slot": "A-05",
                    "on_shelf": True,
                },
            ),
            (
                AlarmKind.SHORTAGE,
                AMOX,
                {
                    "gtin": AMOX,
                    "name": "Amoxicillin 500 mg",
                    "on_hand": 0,
                    "slots": ["A-01"],
                    "refused_request": "r-1",
                    "refused_status": "rejected",
                    "proposal_id": "p-2",
                },
            ),
            (
                AlarmKind.SHORTAGE,
                IBU,
                {
                    "gtin": IBU,
                    "name": "Ibuprofen 400 mg",
                    "on_hand": 1,
                    "slots": ["A-06"],
                    "refused_request": "r-3",
                    "refused_status": "cancelled",
                    "proposal_withdrawn": "p-4",
                },
            ),
        ]
        for kind, subject, detail in raised:
            await gateway.ledger.submit(RaiseAlarm(kind, subject, detail))
        tab = await web.tab()
        await tab.goto(f"{web.url}/alarms")

        def about(alarm_id: str) -> Locator:
            return tab.locator(f'tr[data-alarm="{alarm_id}"] td.about')

        removal = about("unexpected_removal-" + re.sub(r"[:.]", "_", EPC))
        await expect(removal).to_contain_text("Amoxicillin 500 mg")
        await expect(removal).to_contain_text("slot A-03")
        await expect(removal).to_contain_text("taken at the shelf by mistake (expired)")
        await expect(removal).to_contain_text(EPC)
        await expect(about("storage-ledger")).to_contain_text("row 12 missing from index")
        await expect(about("device_down-r1")).to_contain_text("/dev/ttyUSB0 closed")
        refused = about(f"refused_pack-{AMOX}_7")
        await expect(refused).to_contain_text("slot A-05")
        await expect(refused).to_contain_text("held there, take it out")
        await expect(about(f"shortage-{AMOX}")).to_contain_text(
            "the centre rejected request r-1; proposal p-2 waits for a pharmacist to confirm it"
        )
        withdrawn = about(f"shortage-{IBU}")
        await expect(withdrawn).to_contain_text(
            "the centre cancelled request r-3; proposal p-4 withdrawn: stock rose, nothing more"
            " is needed"
        )
        await expect(withdrawn).not_to_contain_text("waits for a pharmacist")
        await tab.screenshot(path=str(artifacts() / "alarms-detail.png"), full_page=True)


async def test_held_packs_taken_off_the_shelf_are_written_off_from_the_page(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker) as web:
        rig = web.rig
        await eventually(lambda: rig.shows("A-03", HELD_LIGHT), what="A-03 blinking red")
        tab = await web.logged_in_tab()
        await tab.goto(f"{web.url}/alarms")
        row = tab.locator(f'tr[data-alarm="{EXPIRED}"]')
        form = row.locator('form.write-off[data-slot="A-03"]')
        await expect(form.locator('input[name="quantity"]')).to_have_value("5")
        await form.get_by_role("button", name="Write off").click()
        await expect(tab.locator(".flash")).to_contain_text(
            f"5 pack(s) of Amoxicillin 500 mg batch OLD (expired) taken off the shelf in A-03, "
            f"written off by {NAME}; 0 held there still"
        )
        await expect(row).to_have_count(0)  # its last pack gone, the alarm ended
        assert written_off(rig.db) == [("A-03", "OLD", 5, NAME)]
        await eventually(lambda: rig.shows("A-03", DARK), what="A-03 dark")

        # A recalled batch, from the Expiring view: one of its two packs taken away.
        await tab.goto(f"{web.url}/expiring?days=3000")
        line = tab.locator('tr[data-line="A-05/BAD"]')
        await line.locator('input[name="quantity"]').fill("1")
        await line.get_by_role("button", name="Write off").click()
        await expect(tab.locator(".flash")).to_contain_text(
            "1 pack(s) of Amoxicillin 500 mg batch BAD (recalled) taken off the shelf in A-05"
        )
        await expect(tab.locator(".flash")).to_contain_text("1 held there still")
        await expect(line.locator("td.num")).to_have_text("1")
        assert written_off(rig.db)[-1] == ("A-05", "BAD", 1, NAME)

        # Stock that is not held is refused by the gateway, and the page says why.
        before = rig.movement_count()
        token = await tab.locator('input[name="csrf"]').first.get_attribute("value")
        form_data = {"csrf": token or "", "next": "/alarms", "gtin": AMOX, "batch": "LATE"}
        answer = await tab.request.post(
            f"{web.url}/write-off", form={**form_data, "slot": "A-01", "quantity": "1"}
        )
        assert answer.ok
        assert "are available, not quarantined" in await answer.text()
        assert rig.movement_count() == before
        await tab.screenshot(path=str(artifacts() / "expiring-write-off.png"), full_page=True)


async def test_a_write_off_form_sent_twice_writes_off_once(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """A double tap, or a page sent again: the form's one-time id is the command's message_id,
    so the gateway carries the copy out no more and the page says it was already done; the
    button is disabled once the form is sent."""
    async with page_rig(tmp_path, broker) as web:
        tab = await web.logged_in_tab()
        await tab.goto(f"{web.url}/alarms")
        form = tab.locator(f'tr[data-alarm="{EXPIRED}"] form.write-off[data-slot="A-03"]')
        await form.locator('input[name="quantity"]').fill("2")
        fields = await form.evaluate("f => Object.fromEntries(new FormData(f))")
        assert fields["form_id"], "each form carries its one-time id"
        first, second = await asyncio.gather(
            tab.request.post(f"{web.url}/write-off", form=fields),
            tab.request.post(f"{web.url}/write-off", form=fields),
        )
        said = await first.text() + await second.text()
        assert "Already done: this form was sent once already" in said
        assert written_off(web.rig.db) == [("A-03", "OLD", 2, NAME)]

        # In the browser: the button is disabled as soon as the form is sent (here the
        # answer is cut to "204 No Content", so the page stays to be looked at).
        await tab.route("**/write-off", lambda route: route.fulfill(status=204))
        await tab.goto(f"{web.url}/alarms")
        button = form.get_by_role("button", name="Write off")
        await button.click()
        await expect(button).to_be_disabled()
        assert written_off(web.rig.db) == [("A-03", "OLD", 2, NAME)]


async def test_the_alarms_view_shows_the_newest_500_and_says_how_many_more(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker) as web:
        await web.rig.stop_daemon()  # the ledger's one writer: the test writes now
        with sqlite3.connect(web.rig.db) as ledger:
            live = ledger.execute("SELECT count(*) FROM alarms WHERE state != 'cleared'")
            before = int(live.fetchone()[0])
            ledger.executemany(
                "INSERT INTO alarms (id, kind, subject, state, raised_at, detail)"
                " VALUES (?, 'device_down', ?, 'raised', ?, '{}')",
                [
                    (f"device_down-r{n}", f"r{n}", f"2030-01-01T00:{n // 60:02d}:{n % 60:02d}Z")
                    for n in range(600)
                ],
            )
        tab = await web.tab()
        await tab.goto(f"{web.url}/alarms")
        await expect(tab.locator("tr[data-alarm]")).to_have_count(500)
        await expect(tab.locator('tr[data-alarm="device_down-r599"]')).to_have_count(1)
        await expect(tab.locator("#more-alarms")).to_have_text(
            f"Only the newest 500 live alarms are shown; {before + 100} more are live. "
            "rxedge alarms on the gateway lists them all."
        )
