"""May this pack go on the shelves? The checks a pack scanned in at receiving must pass.

A pack is refused (never booked) when no product knows its GTIN, when its code lacks the expiry
or the batch its product's codes carry (`batch_and_expiry`, as a medicine's do: undated, no
expiry sweep would find it; without its batch, no recall), when it has expired or expires
within the product's `min_shelf_life_days`, when its batch is recalled, or when its serial is
already on the shelves (two packs with one serial: one of them is not genuine).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from inventory.codes.barcodes import PackScan
from inventory.replenishment.policy import Product
from inventory.stock.slot_index import SlotIndex


class Reason(StrEnum):
    UNKNOWN_PRODUCT = "unknown product"
    NO_EXPIRY = "no expiry"
    NO_BATCH = "no batch"
    EXPIRED = "expired"
    SHORT_SHELF_LIFE = "short shelf life"
    RECALLED = "recalled"
    DUPLICATE_SERIAL = "duplicate serial"
    ALREADY_SCANNED = "already scanned"
    NO_ROOM = "no room"
    NO_COLOUR = "no colour free"
    SLOT_BUSY = "slot busy"  # its slot is lit for another desk's packs, and no other has room


# Refusals that raise an alarm: stock that must not reach a shelf, and a counterfeit signal.
REFUSED_PACK_REASONS = frozenset({Reason.EXPIRED, Reason.SHORT_SHELF_LIFE, Reason.RECALLED})
# Refusals that may not hold for the same pack a moment later: it may be put after all (its
# DataMatrix scanned after a code without the expiry, say, or the other desk's packs put).
PASSING_REASONS = frozenset(
    {
        Reason.NO_COLOUR,
        Reason.NO_ROOM,
        Reason.SLOT_BUSY,
        Reason.UNKNOWN_PRODUCT,
        Reason.NO_EXPIRY,
        Reason.NO_BATCH,
    }
)


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: Reason
    why: str  # in words, for the pharmacist and the centre
    slot: str | None = None  # where the serial already lies (duplicate serial)


def refusal(
    scan: PackScan,
    products: Mapping[str, Product],
    index: SlotIndex,
    today: date,
    recalled: Collection[tuple[str, str]],
) -> Refusal | None:
    """Why the scanned pack must not be put away, or None when it may."""
    product = products.get(scan.gtin)
    if product is None:
        return Refusal(
            Reason.UNKNOWN_PRODUCT,
            f"no product has GTIN {scan.gtin}; add it to [[products]] to put it away",
        )
    if scan.expiry is not None:
        days_left = (scan.expiry - today).days
        if days_left < 0:
            return Refusal(Reason.EXPIRED, f"expired on {scan.expiry.isoformat()}")
        if days_left < product.min_shelf_life_days:
            return Refusal(
                Reason.SHORT_SHELF_LIFE,
                f"expires on {scan.expiry.isoformat()}, in {days_left} day(s); "
                f"{product.name} needs at least {product.min_shelf_life_days}",
            )
    if (scan.gtin, scan.batch) in recalled:
        return Refusal(Reason.RECALLED, f"batch {scan.batch} is recalled")
    # Judged last: a pack that must go back whatever it lacks (expired, recalled, a copy) is
    # refused for that, with its alarm, never as one to scan again by another code.
    return on_the_shelves(scan, index) or incomplete(scan, product)


def incomplete(scan: PackScan, product: Product) -> Refusal | None:
    """`no expiry` (or `no batch`) when the code lacks the expiry (or the batch) the product's
    codes carry; None when it has both, or when the product's codes may lack them."""
    if not product.batch_and_expiry or (scan.expiry is not None and scan.batch):
        return None
    missing = " nor ".join(
        what
        for what, lacking in (
            ("expiry date (AI 17)", scan.expiry is None),
            ("batch (AI 10)", not scan.batch),
        )
        if lacking
    )
    return Refusal(
        Reason.NO_EXPIRY if scan.expiry is None else Reason.NO_BATCH,
        f"no {missing} in the code: scan the pack's GS1 DataMatrix; if it has none either, "
        f"set the pack aside for the pharmacist (the codes of {product.name} carry both; "
        "for a product whose codes truly may lack them, a device's, set batch_and_expiry = "
        "false in its [[products]] entry)",
    )


def on_the_shelves(scan: PackScan, index: SlotIndex) -> Refusal | None:
    """`duplicate serial` when a pack with the scanned pack's serial is on the shelves already;
    None otherwise (a counted pack never is)."""
    on_shelf = index.lines_of(scan.gtin, scan.serial) if scan.serial else []
    for line in on_shelf[:1]:
        return Refusal(
            Reason.DUPLICATE_SERIAL,
            f"serial {scan.serial} is on the shelves already, in {line.slot}",
            line.slot,
        )
    return None


def held_back(scan: PackScan, today: date, recalled: Collection[tuple[str, str]]) -> Refusal | None:
    """Why a pack that passed the checks when scanned must not be booked now that it is put:
    its batch was recalled, or it expired (midnight passed), while it waited."""
    if (scan.gtin, scan.batch) in recalled:
        return Refusal(Reason.RECALLED, f"batch {scan.batch} was recalled before the pack was put")
    if scan.expiry is not None and scan.expiry < today:
        return Refusal(Reason.EXPIRED, f"expired on {scan.expiry.isoformat()}")
    return None
