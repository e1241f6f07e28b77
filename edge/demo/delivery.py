"""The demo's last act: the delivery for the request the demo raised is put away by the lights.

The clerk answers that the request has shipped; the centre announces the delivery
(cmd/putaway, naming the request); the goods-in scanner scans its amoxicillin packs and one
expired pack; the expired pack is refused (red at the station, an alarm); the others light
A-01, their home slot, with the count to put; three are laid in the slot and their tags seen on
antenna 1, the rest confirmed by the slot's button; the request becomes `received` and the
delivery closes itself, complete, once nothing more of it was scanned for a moment.
"""

from __future__ import annotations

import asyncio

from drivers.modbus.profile import Colour, Mode
from edge.demo.clerk import is_now, ship
from edge.demo.stage import Acts
from edge.demo.stock import AMOXICILLIN, ANA, DELIVERY_ID, STATION, TAGGED, expired_pack, pack_code

TAGGED_PUTS = 3  # packs confirmed by their tag on the antenna; the rest by the button


async def put_away_delivery(scenario: Acts) -> bool:
    """Announce, scan in, refuse the expired pack, put the rest away; True when every step was
    observed."""
    s, home = scenario.s, TAGGED[0]
    [request] = [r for r in s.centre.requests if r.body.get("gtin") == AMOXICILLIN.gtin][:1]
    quantity = int(request.body["quantity"])
    serials = range(home.count + 1, home.count + 1 + quantity)
    if not await ship(scenario, request):
        return False
    await asyncio.sleep(0.5)
    scenario.act(
        "centre",
        f"announces delivery {DELIVERY_ID}: {quantity} x {AMOXICILLIN.name} for request "
        f"{request.request_id[:8]} (cmd/putaway)",
    )
    notice: dict[str, object] = {
        "delivery_id": DELIVERY_ID,
        "request_id": request.request_id,
        "scanner": "goods-in",
        "lines": [{"gtin": AMOXICILLIN.gtin, "quantity": quantity}],
    }
    await s.centre.send("putaway", notice)
    if not await scenario.check(
        "the gateway expects the delivery", lambda: bool(s.centre.of(DELIVERY_ID, "expected"))
    ):
        return False
    scanner = s.goods_in
    assert scanner is not None
    scenario.act(ANA, "scans the delivered packs at goods-in, and one expired pack among them")
    for serial in serials:
        scanner.scan(pack_code(s.today, serial))
    scanner.scan(expired_pack(s.today))
    if not await scenario.check(
        f"the expired pack refused: {STATION} blinks red, the centre told",
        lambda: _refused(scenario),
    ):
        return False
    if not await scenario.check(
        f"{home.slot}, amoxicillin's home slot, lit green with {quantity} to put",
        lambda: _lit(scenario, home.slot, quantity),
    ):
        return False
    await s.view.snapshot("the delivery lit for put-away")
    await asyncio.sleep(0.9)
    tagged = list(serials)[:TAGGED_PUTS]
    scenario.act(ANA, f"lays {len(tagged)} tagged packs in {home.slot}: antenna 1 sees them")
    for serial in tagged:
        s.reader.place(home.antenna, home.epc(serial))
    if not await scenario.check(
        f"{len(tagged)} packs put, confirmed by their tags",
        lambda: len(s.centre.of(DELIVERY_ID, "put")) >= len(tagged),
    ):
        return False
    rest = quantity - len(tagged)
    scenario.act(ANA, f"puts the other {rest} in {home.slot} and presses its button {rest} times")
    await s.shelf.press(int(home.slot.split("-")[1]) - 1, times=rest)
    if not await scenario.check(
        f"request {request.request_id[:8]} received in full ({quantity} packs)",
        lambda: is_now(s.db, request.request_id, "received", quantity),
    ):
        return False
    return await scenario.check(
        f"delivery {DELIVERY_ID} closed complete, {home.slot} no longer lit for it",
        lambda: _closed(scenario, home.slot),
    )


async def _refused(scenario: Acts) -> bool:
    light = await scenario.light(STATION)
    red = light.on and light.colour is Colour.RED and light.mode is Mode.FAST_BLINK
    answers = scenario.s.centre.of(DELIVERY_ID, "refused")
    return red and any(a.get("reason") == "expired" for a in answers)


async def _lit(scenario: Acts, slot: str, quantity: int) -> bool:
    light = await scenario.light(slot)
    return light.on and light.colour is Colour.GREEN and light.number == quantity


async def _closed(scenario: Acts, slot: str) -> bool:
    closed = scenario.s.centre.of(DELIVERY_ID, "closed")
    light = await scenario.light(slot)
    return bool(closed) and closed[0].get("how") == "done" and light.colour is not Colour.GREEN
