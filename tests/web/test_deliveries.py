"""The Deliveries view: a delivery being put away as the clerk at the desk needs it (its colour,
what was announced and put, the pack lit and where, the pack refused and what to do with it),
kept live as packs are put, and ended from the page; an ended delivery's packs left waiting
(lit, never confirmed) and where to look for them; real daemon, mosquitto, pty scanner and
reader, Modbus shelf controller and Chromium."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from playwright.async_api import expect

from edge.demo.local_broker import LocalBroker
from firmware_sim.scanner_sim import GS
from firmware_sim.tags import sgtin96
from sync.commands import with_envelope
from tests.clocks import PassingClock
from tests.conftest import Subscriber, eventually
from tests.edge.pick_rig import AMOX, IBU, PREFIX, statuses
from tests.web.page_rig import NAME, artifacts, page_rig

SECOND = 5_000
BREAK = 90  # seconds: longer than the rig's put-away timeout (60)
# What an ended delivery's pack left waiting, and not booked since, asks of the clerk.
NOT_BOOKED = (
    "Not booked. Look in {slot}: if it lies there, take it out, scan it again at the desk and"
    " put it where it is lit. Not there: look in the tote."
)


def code(gtin: str, batch: str, days: int, serial: str = "") -> str:
    """A pack's DataMatrix, expiring `days` from today."""
    expiry = date.today() + timedelta(days=days)
    return f"01{gtin}17{expiry:%y%m%d}10{batch}{GS}" + (f"21{serial}" if serial else "")


def putaway_desk(tmp_path: Path) -> dict[str, object]:
    """The rig's scanner as a put-away desk (its station A-08), and homes for both products."""
    products = [
        {"gtin": gtin, "name": name, "reorder_point": 1, "par": 8, "require_serial": False}
        | {"slots": [home], "slot_capacity": 8}
        for gtin, name, home in (
            (AMOX, "Amoxicillin 500 mg", "A-01"),
            (IBU, "Ibuprofen 400 mg", "A-06"),
        )
    ]
    desk = {"name": "desk", "port": str(tmp_path / "scanner"), "role": "putaway"}
    return {"scanners": [desk | {"receive_to": "A-08"}], "products": products}


async def test_a_delivery_shows_its_lines_the_pack_lit_and_the_pack_refused_and_ends_from_the_page(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    centre = subscribe(f"{PREFIX}/cmd-result")
    async with page_rig(tmp_path, broker, **putaway_desk(tmp_path)) as web:
        rig = web.rig
        tab = await web.logged_in_tab()
        await tab.goto(f"{web.url}/deliveries")
        await expect(tab.locator("#deliveries")).to_contain_text("No delivery is being put away")
        announced = f"{date.today() + timedelta(days=500):%Y-%m-%d}"
        announced_line = {"gtin": IBU, "quantity": 2, "expiry": announced}
        notice = {"delivery_id": "DESADV-7", "lines": [announced_line]}
        centre.publish(f"{PREFIX}/cmd/putaway", json.dumps(with_envelope(notice)))
        delivery = tab.locator('article[data-delivery="DESADV-7"]')
        await expect(delivery.locator(".standing")).to_have_text(
            "announced: waits for its first pack", timeout=SECOND
        )
        line = delivery.locator(f'table.lines tr[data-gtin="{IBU}"]')
        await expect(line).to_contain_text("Ibuprofen 400 mg")

        rig.scanner.scan(code(IBU, "I9", 400))
        rig.scanner.scan(code(IBU, "I9", -1))  # expired yesterday: refused, never booked
        await expect(delivery.locator(".standing")).to_have_text(
            "being put away at desk", timeout=SECOND
        )
        await expect(delivery.locator(".chip")).to_have_text("green")
        waiting = delivery.locator("table.waiting tbody tr")
        await expect(waiting).to_have_count(1, timeout=SECOND)
        await expect(waiting).to_contain_text("A-06")
        refused = delivery.locator('table.refused tr[data-reason="expired"]')
        await expect(refused.locator(".to-do")).to_have_text(
            "Expired: set it aside with the delivery note; it goes back.", timeout=SECOND
        )
        await tab.screenshot(path=artifacts() / "deliveries.png", full_page=True)

        await rig.press("A-06")  # the lit pack put: the view follows without a reload
        await expect(waiting).to_have_count(0, timeout=SECOND)
        await expect(line.locator(".put")).to_have_text("1")
        scanned = f"{date.today() + timedelta(days=400):%Y-%m-%d}"
        await expect(line).to_contain_text(f"{announced} packs expire {scanned}")
        await expect(delivery.locator(".progress")).to_have_text("1 put, 1 still to come")

        await delivery.get_by_role("button", name="End this delivery").click()
        await expect(tab.locator(".flash")).to_contain_text(
            f"Delivery DESADV-7 ended by {NAME}", timeout=SECOND
        )
        await expect(delivery).to_have_count(0)
        ended = tab.locator('table.ended tr[data-delivery="DESADV-7"]')
        await expect(ended).to_contain_text("ended")
        cells = ended.locator("td.num")
        # put, missing, left waiting, extra, refused
        await expect(cells).to_have_text(["1", "1", "0", "0", "1"])
        await eventually(
            lambda: "closed" in statuses(centre, "DESADV-7"), what="the centre told it closed"
        )


async def test_a_refused_pack_laid_on_a_shelf_all_the_same_shows_where_it_is_held(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    """The expired ibuprofen is refused at the desk (station A-07), then laid in A-08 all the
    same: its tag seen there, the view no longer says it goes back with the delivery note but
    where it is held, for a pharmacist to take off; once taken off (written off as its reader
    sees it leave), the view says so and what the clerk does with it again."""
    centre = subscribe(f"{PREFIX}/cmd-result")
    setup = putaway_desk(tmp_path)
    setup["scanners"] = [{**setup["scanners"][0], "receive_to": "A-07"}]  # type: ignore[index]
    setup["picking"] = {"remind_after_seconds": 30, "timeout_seconds": 60, "mistake_seconds": 1}
    async with page_rig(tmp_path, broker, **setup) as web:
        rig = web.rig
        tab = await web.logged_in_tab()
        await tab.goto(f"{web.url}/deliveries")
        notice = {"delivery_id": "DESADV-8", "lines": [{"gtin": IBU, "quantity": 2}]}
        centre.publish(f"{PREFIX}/cmd/putaway", json.dumps(with_envelope(notice)))
        delivery = tab.locator('article[data-delivery="DESADV-8"]')
        await expect(delivery).to_have_count(1, timeout=SECOND)
        rig.scanner.scan(code(IBU, "I9", -1, serial="41"))  # expired yesterday: refused
        refused = delivery.locator('table.refused tr[data-reason="expired"]')
        await expect(refused.locator(".to-do")).to_have_text(
            "Expired: set it aside with the delivery note; it goes back.", timeout=SECOND
        )
        rig.reader.place(1, sgtin96("4012345", "000001", 41))  # laid in A-08 all the same
        await expect(refused.locator(".to-do")).to_have_text(
            "Held quarantined in A-08: a pharmacist takes it off.", timeout=SECOND
        )
        await expect(refused).to_have_attribute("data-held-in", "A-08")

        rig.reader.remove(sgtin96("4012345", "000001", 41))  # the pharmacist takes it off
        await expect(refused.locator(".to-do")).to_have_text(
            "Taken off A-08 and written off. Expired: set it aside with the delivery note;"
            " it goes back.",
            timeout=3 * SECOND,
        )
        assert await refused.get_attribute("data-held-in") is None


async def test_packs_left_lit_at_a_break_are_listed_to_scan_again_and_leave_the_list_when_put(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    """The clerk scans two packs of a delivery of three, puts one, and leaves: past the
    timeout the delivery pauses and the pack lit and never confirmed is let go. The view says
    so and asks for it to be scanned again; scanned again and put, it leaves that list. The
    break passes on the daemon's clock: however long the page takes to follow, the clerk
    takes no break before it."""
    centre = subscribe(f"{PREFIX}/cmd-result")
    clock = PassingClock()
    async with page_rig(tmp_path, broker, clock=clock, **putaway_desk(tmp_path)) as web:
        rig = web.rig
        tab = await web.tab()
        await tab.goto(f"{web.url}/deliveries")
        notice = {"delivery_id": "DESADV-9", "lines": [{"gtin": IBU, "quantity": 3}]}
        centre.publish(f"{PREFIX}/cmd/putaway", json.dumps(with_envelope(notice)))
        delivery = tab.locator('article[data-delivery="DESADV-9"]')
        await expect(delivery).to_have_count(1, timeout=SECOND)
        rig.scanner.scan(code(IBU, "I9", 400, serial="L1"))
        rig.scanner.scan(code(IBU, "I9", 400, serial="L2"))
        await expect(delivery.locator("table.waiting tbody tr")).to_have_count(2, timeout=SECOND)
        await rig.press("A-06")  # one of the two put; the other stays lit, never confirmed
        progress = delivery.locator(".progress")
        await expect(progress).to_have_text("1 put, 1 lit, 2 still to come", timeout=SECOND)
        clock.pass_time(BREAK)
        await expect(delivery.locator(".standing")).to_have_text(
            "paused: waits for the rest of its packs", timeout=SECOND
        )
        let_go = delivery.locator("table.let-go tbody tr")
        await expect(let_go).to_have_count(1)
        await expect(let_go).to_contain_text("A-06")
        await expect(progress).to_have_text("1 put, 2 still to come")
        serial = (await let_go.locator("td").nth(2).text_content() or "").strip()
        assert serial in ("L1", "L2")
        rig.scanner.scan(code(IBU, "I9", 400, serial=serial))  # scanned again, as asked
        await expect(let_go).to_have_count(0, timeout=SECOND)
        await rig.press("A-06")
        await expect(progress).to_have_text("2 put, 1 still to come", timeout=SECOND)
        await eventually(
            lambda: "paused" in statuses(centre, "DESADV-9"), what="the centre told of the break"
        )


async def test_a_delivery_ended_with_a_pack_lit_shows_it_left_waiting_not_simply_missing(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    """A notice of three: two scanned, one put, then the delivery is ended from the page. Two
    are missing as the centre was told, but one of them came: it was lit in A-06 and never
    confirmed, and the row says so and where."""
    centre = subscribe(f"{PREFIX}/cmd-result")
    async with page_rig(tmp_path, broker, **putaway_desk(tmp_path)) as web:
        rig = web.rig
        tab = await web.logged_in_tab()
        await tab.goto(f"{web.url}/deliveries")
        notice = {"delivery_id": "DESADV-11", "lines": [{"gtin": IBU, "quantity": 3}]}
        centre.publish(f"{PREFIX}/cmd/putaway", json.dumps(with_envelope(notice)))
        delivery = tab.locator('article[data-delivery="DESADV-11"]')
        await expect(delivery).to_have_count(1, timeout=SECOND)
        rig.scanner.scan(code(IBU, "I9", 400, serial="51"))
        rig.scanner.scan(code(IBU, "I9", 400, serial="52"))
        await expect(delivery.locator("table.waiting tbody tr")).to_have_count(2, timeout=SECOND)
        await rig.press("A-06")
        progress = delivery.locator(".progress")
        await expect(progress).to_have_text("1 put, 1 lit, 2 still to come", timeout=SECOND)

        await delivery.get_by_role("button", name="End this delivery").click()
        await expect(tab.locator(".flash")).to_contain_text(
            f"Delivery DESADV-11 ended by {NAME}", timeout=SECOND
        )
        ended = tab.locator('table.ended tr[data-delivery="DESADV-11"]')
        await expect(ended.locator("td.missing")).to_have_text(
            "2 1 of them came: left waiting in A-06, not short"
        )
        await expect(ended.locator("td.left")).to_have_text("1")
        left = tab.locator('tr[data-left-of="DESADV-11"] table.left-packs tbody tr')
        await expect(left).to_have_count(1)
        await expect(left.locator("td").nth(0)).to_have_text("Ibuprofen 400 mg")
        await expect(left.locator(".lit-at")).to_have_text("A-06")
        await expect(left.locator(".to-do")).to_have_text(NOT_BOOKED.format(slot="A-06"))
        serial = (await left.locator("td").nth(2).text_content() or "").strip()
        assert serial in ("51", "52")


async def test_a_delivery_timed_out_with_packs_lit_names_each_and_says_once_each_is_booked(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """Two packs scanned without a notice, lit in A-01 and A-06, and the clerk walks away: the
    session times out. Its row counts both left waiting and names each with its slot; the
    ibuprofen, laid in A-08 after all, is booked there by its tag, and the amoxicillin, found
    in A-01 and scanned again and put as its line says, is booked too: each line says so."""
    clock = PassingClock()
    async with page_rig(tmp_path, broker, clock=clock, **putaway_desk(tmp_path)) as web:
        rig = web.rig
        tab = await web.tab()
        await tab.goto(f"{web.url}/deliveries")
        rig.scanner.scan(code(AMOX, "A9", 400, serial="61"))
        rig.scanner.scan(code(IBU, "I9", 400, serial="62"))
        delivery = tab.locator("article.delivery")
        await expect(delivery.locator("table.waiting tbody tr")).to_have_count(2, timeout=SECOND)
        clock.pass_time(BREAK)

        ended = tab.locator('table.ended tr[data-delivery^="desk-"]')
        await expect(ended).to_contain_text("timed out", timeout=SECOND)
        # put, missing, left waiting, extra, refused
        await expect(ended.locator("td.num")).to_have_text(["0", "0", "2", "0", "0"])
        left = tab.locator('tr[data-left-of^="desk-"] table.left-packs tbody tr')
        await expect(left).to_have_count(2)
        await expect(left.locator(".lit-at")).to_have_text(["A-01", "A-06"])
        await expect(left.locator(".to-do")).to_have_text(
            [NOT_BOOKED.format(slot="A-01"), NOT_BOOKED.format(slot="A-06")]
        )
        await tab.screenshot(path=artifacts() / "deliveries-left-waiting.png", full_page=True)

        rig.reader.place(1, sgtin96("4012345", "000001", 62))  # laid in A-08 after all
        ibuprofen = left.filter(has_text="Ibuprofen 400 mg")
        await expect(ibuprofen.locator(".to-do")).to_have_text(
            "Booked in A-08 since: nothing to do.", timeout=3 * SECOND
        )
        await expect(ibuprofen).to_have_attribute("data-booked-in", "A-08")
        await expect(ended.locator("td.left")).to_have_text("2")

        rig.scanner.scan(code(AMOX, "A9", 400, serial="61"))  # found in A-01: as its line says
        await expect(delivery.locator("table.waiting tbody tr")).to_contain_text("A-01")
        await rig.press("A-01")
        amoxicillin = left.filter(has_text="Amoxicillin 500 mg")
        await expect(amoxicillin.locator(".to-do")).to_have_text(
            "Booked in A-01 since: nothing to do.", timeout=SECOND
        )
