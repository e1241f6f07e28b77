"""The Expiring list counts every pack, however many serialized packs a batch has (each is a
row of its own in the ledger), and says how many lines it leaves out when there are more
than it shows, so that the pharmacist knows to ask for fewer days."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import expect

from edge.demo.local_broker import LocalBroker
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from tests.edge.pick_rig import AMOX, IBU
from tests.web.page_rig import page_rig

SERIALIZED = 1_500  # packs of one batch, each with its serial: more rows than a line holds
MORE_BATCHES = 250  # lines beyond what the list shows


def put_away(db: Path, movements: list[Movement]) -> None:
    keeper = InventoryKeeper(db, {}, "s1", "g1")
    keeper.commit(movements)
    keeper.close()


def pack(
    gtin: str, batch: str, expiry: str, slot: str, quantity: int = 1, serial: str = ""
) -> Movement:
    return Movement(
        MovementKind.PUT_AWAY,
        gtin,
        quantity,
        serial=serial,
        batch=batch,
        expiry=expiry,
        to_slot=slot,
    )


async def test_every_serialized_pack_is_counted_and_lines_left_out_are_said(
    tmp_path: Path, broker: LocalBroker
) -> None:
    async with page_rig(tmp_path, broker) as web:
        await web.rig.stop()  # the ledger is written here, as the daemon would have
        tab = await web.tab()
        await tab.goto(f"{web.url}/expiring?days=3650")
        rows = tab.locator("#expiring tbody tr:not(:has(.quiet))")
        before = await rows.count()
        serialized = [
            pack(AMOX, "SER", "2031-06-30", "A-08", serial=f"S{n:05d}") for n in range(SERIALIZED)
        ]
        put_away(web.rig.db, [*serialized, pack(IBU, "SEVEN", "2031-07-31", "A-07", 7)])

        await tab.reload()
        await expect(rows).to_have_count(before + 2)
        await expect(tab.locator("tr", has_text="SER").locator("td.num")).to_have_text(
            str(SERIALIZED)
        )
        await expect(tab.locator("tr", has_text="SEVEN").locator("td.num")).to_have_text("7")
        await expect(tab.locator("#left-out")).to_have_count(0)

        put_away(
            web.rig.db,
            [pack(IBU, f"B{n:03d}", "2032-01-31", "A-06") for n in range(MORE_BATCHES)],
        )
        await tab.reload()
        lines = before + 2 + MORE_BATCHES
        await expect(rows).to_have_count(200)
        await expect(tab.locator("#left-out")).to_contain_text(
            f"Only the earliest 200 of {lines} lines are shown: {lines - 200} later line(s)"
        )
        await expect(tab.locator("#left-out")).to_contain_text("Ask for fewer days")
