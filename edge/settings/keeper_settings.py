"""The inventory keeper as the gateway's configuration sets it up: its ledger file, site and
calendar, pick timings, and the slots put-away may choose."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from edge.clock import Clock
from edge.settings.config import GatewayConfig
from inventory.keeper import InventoryKeeper
from inventory.picking.results import PickTimes
from inventory.replenishment.policy import Product
from inventory.site_calendar import SiteCalendar


def keeper_for(
    config: GatewayConfig, products: dict[str, Product], calendar: SiteCalendar, clock: Clock
) -> Callable[[], InventoryKeeper]:
    """How the writer opens the gateway's ledger: the quick check at open keeps the start fast
    (the full check runs beside the work), the keeper on the site's calendar (and through it
    the gateway's clock), its idle times and deadlines on the clock's steady time."""
    picking = config.picking
    return partial(
        InventoryKeeper,
        config.database,
        products,
        config.site,
        config.gateway,
        calendar,
        integrity_check="quick_check",
        shelf_slots=putaway_choices(config),
        pick_times=PickTimes(
            picking.remind_after_seconds,
            picking.timeout_seconds,
            picking.mistake_seconds,
            picking.locate_seconds,
            config.presence.dwell_seconds,
        ),
        seconds=clock.steady,
        watched_slots=[
            slot for r in config.readers if r.role == "fixed" for slot in r.antennas.values()
        ],
    )


def putaway_choices(config: GatewayConfig) -> list[str]:
    """The slots put-away may give a pack as a free one: every shelf's slots but the receiving
    and put-away stations (`receive_to`), which are never stock places, whether or not a
    delivery is worked there now."""
    stations = {scanner.receive_to for scanner in config.scanners if scanner.receive_to}
    return [slot for shelf in config.shelves for slot in shelf.slot_names() if slot not in stations]
