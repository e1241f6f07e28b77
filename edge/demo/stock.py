"""What the demo pharmacy holds: its products, the delivery booked in before the daemon starts,
the tagged packs on the fixed reader's antennas, the two prescriptions the centre sends, and the
daemon's configuration (the same schema as a real gateway's).

Shelf A has 24 slots in three rows of eight. A-01..A-04 are watched by the reader's antennas
1-4 (tagged packs, put away by the daemon itself); the other stock is counted, with batches and
expiry dates: omeprazole lies in three slots, an early batch (A-09), a late one (A-10) and an
expired one (A-11) that no pick list must be offered. Tagged levothyroxine in A-06, where no
antenna reaches, is known only from its delivery: the handheld's stocktake sweep finds one of its
packs gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from firmware_sim.scanner_sim import GS
from firmware_sim.tags import sgln96, sgtin96
from inventory.codes.identifiers import EpcDecoder, PackId
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind

SITE = "demo-pharmacy"
GATEWAY = "gw-1"
SHELF = "A"
SLOTS = 24
DWELL_SECONDS = 1.0
MISTAKE_SECONDS = 3.0  # how long a caught mistake blinks red
# How long a list or a delivery may rest untouched: a list then blinks slowly, a delivery put
# in full closes done (its clerk had the time to scan a pack more of it). Short: a demo is.
IDLE_SECONDS = 5.0
FOREIGN_TAG = bytes.fromhex("E2801160600002054B3A1B1C")  # a TID: counted and ignored
# Shelf A's GLN: each slot's location tag is this GLN with the slot's number as extension.
GLN_PREFIX, GLN_REFERENCE = "4012345", "00001"
SHELF_GLN = "4012345000016"


@dataclass(frozen=True, slots=True)
class DemoProduct:
    gtin: str
    name: str
    label: str  # the short name on the shelf grid
    reorder_point: int
    par: int
    slots: tuple[str, ...]


AMOXICILLIN = DemoProduct(
    "04012345123456", "Amoxicillin 500 mg capsules x21", "Amoxi", 4, 10, ("A-01",)
)
PARACETAMOL = DemoProduct(
    "04012345987652", "Paracetamol 500 mg tablets x20", "Parac", 1, 6, ("A-02",)
)
IBUPROFEN = DemoProduct("05012345678900", "Ibuprofen 400 mg tablets x30", "Ibupr", 1, 5, ("A-03",))
SALBUTAMOL = DemoProduct("04012345456783", "Salbutamol 100 ug inhaler", "Salbu", 1, 4, ("A-04",))
CETIRIZINE = DemoProduct(
    "04012345555059", "Cetirizine 10 mg tablets x30", "Cetir", 2, 10, ("A-05",)
)
OMEPRAZOLE = DemoProduct(
    "04012345555011", "Omeprazole 20 mg capsules x28", "Omepr", 2, 12, ("A-09", "A-10", "A-11")
)
METFORMIN = DemoProduct("04012345555028", "Metformin 500 mg tablets x60", "Metfo", 1, 8, ("A-12",))
ATORVASTATIN = DemoProduct(
    "04012345555035", "Atorvastatin 20 mg tablets x28", "Atorv", 1, 6, ("A-13",)
)
LISINOPRIL = DemoProduct("04012345555042", "Lisinopril 10 mg tablets x28", "Lisin", 1, 6, ("A-20",))
LEVOTHYROXINE = DemoProduct(
    "04012345555073", "Levothyroxine 50 ug tablets x28", "Levot", 1, 4, ("A-06",)
)
PRODUCTS = (
    AMOXICILLIN,
    PARACETAMOL,
    IBUPROFEN,
    SALBUTAMOL,
    CETIRIZINE,
    OMEPRAZOLE,
    METFORMIN,
    ATORVASTATIN,
    LISINOPRIL,
    LEVOTHYROXINE,
)


@dataclass(frozen=True, slots=True)
class TaggedPacks:
    """Packs with SGTIN-96 tags lying in one antenna's field (serials 1..count)."""

    product: DemoProduct
    company_prefix: str
    item_reference: str
    antenna: int
    count: int

    @property
    def slot(self) -> str:
        return f"{SHELF}-{self.antenna:02d}"

    def epc(self, serial: int) -> bytes:
        return sgtin96(self.company_prefix, self.item_reference, serial)


TAGGED = (
    TaggedPacks(AMOXICILLIN, "4012345", "012345", 1, 6),
    TaggedPacks(PARACETAMOL, "4012345", "098765", 2, 5),
    TaggedPacks(IBUPROFEN, "5012345", "067890", 3, 4),
    TaggedPacks(SALBUTAMOL, "4012345", "045678", 4, 3),
)


@dataclass(frozen=True, slots=True)
class Batch:
    """Counted packs of one batch in one slot, as booked in from the delivery."""

    product: DemoProduct
    slot: str
    batch: str
    expires_in_days: int  # from the day the demo runs; negative: expired already
    quantity: int

    def expiry(self, today: date) -> date:
        return today + timedelta(days=self.expires_in_days)

    def scan_code(self, today: date) -> str:
        """The pack's GS1 DataMatrix element string: GTIN, expiry, batch."""
        return f"01{self.product.gtin}17{self.expiry(today):%y%m%d}10{self.batch}{GS}"


OMEPRAZOLE_EARLY = Batch(OMEPRAZOLE, "A-09", "OM4405", 75, 2)
OMEPRAZOLE_LATE = Batch(OMEPRAZOLE, "A-10", "OM4811", 420, 4)
OMEPRAZOLE_EXPIRED = Batch(OMEPRAZOLE, "A-11", "OM3902", -20, 3)
METFORMIN_BATCH = Batch(METFORMIN, "A-12", "MF0388", 300, 5)
DELIVERY = (
    Batch(CETIRIZINE, "A-05", "CZ0712", 540, 8),
    OMEPRAZOLE_EARLY,
    OMEPRAZOLE_LATE,
    OMEPRAZOLE_EXPIRED,
    METFORMIN_BATCH,
    Batch(ATORVASTATIN, "A-13", "AT2290", 500, 4),
    Batch(LISINOPRIL, "A-20", "LI5521", 200, 3),
)


@dataclass(frozen=True, slots=True)
class UnwatchedPacks:
    """Tagged packs of one batch (serials 1..quantity) in a slot no antenna reaches: booked in
    by their tags with the delivery, seen only by the handheld."""

    batch: Batch
    company_prefix: str
    item_reference: str

    def epc(self, serial: int) -> bytes:
        return sgtin96(self.company_prefix, self.item_reference, serial)


UNWATCHED = UnwatchedPacks(Batch(LEVOTHYROXINE, "A-06", "LT0921", 400, 3), "4012345", "055507")
GONE_SERIAL = 2  # left the shelf without being booked out: the stocktake finds it missing

# Two prescriptions sent at once, as the centre sends them on cmd/pick. Both want omeprazole:
# FEFO gives the first list A-09's two early packs and one from A-10, the second list another
# from A-10, so both pickers want A-10: it shows the first list's colour until its pack there
# is taken, then the second's.
ANA, BEN = "Ana", "Ben"
FIRST_LIST = "rx-1001"
SECOND_LIST = "rx-1002"
PRESCRIPTIONS: tuple[dict[str, object], ...] = (
    {
        "pick_id": FIRST_LIST,
        "picker": ANA,
        "lines": [
            {"gtin": OMEPRAZOLE.gtin, "quantity": 3},
            {"gtin": AMOXICILLIN.gtin, "quantity": 2},
        ],
    },
    {
        "pick_id": SECOND_LIST,
        "picker": BEN,
        "lines": [
            {"gtin": OMEPRAZOLE.gtin, "quantity": 1},
            {"gtin": METFORMIN.gtin, "quantity": 1},
        ],
    },
)
# Packs each list takes: rx-1001 3 omeprazole + 2 amoxicillin, rx-1002 1 + 1.
PACKS_PER_LIST = {FIRST_LIST: 5, SECOND_LIST: 2}

# The delivery for the amoxicillin request, put away by the lights at the goods-in scanner,
# whose station is A-24: a refused pack blinks red there.
DELIVERY_ID = "DESADV-demo-2"
STATION = "A-24"
DELIVERED_BATCH = "AX2291"


def pack_code(today: date, serial: int) -> str:
    """The DataMatrix of a delivered amoxicillin pack (its serial is its tag's)."""
    expiry = today + timedelta(days=730)
    return f"01{AMOXICILLIN.gtin}17{expiry:%y%m%d}10{DELIVERED_BATCH}{GS}21{serial}"


def expired_pack(today: date) -> str:
    """A pack in the delivery that expired last month: it must not reach the shelf."""
    expiry = today - timedelta(days=31)
    return f"01{AMOXICILLIN.gtin}17{expiry:%y%m%d}10AX1907{GS}2199"


def slot_index(slot: str) -> int:
    """0 for A-01."""
    return int(slot.rsplit("-", 1)[1]) - 1


def slot_labels() -> dict[str, str]:
    """Slot -> the short name of what it holds, for the shelf grid."""
    labels = {t.slot: t.product.label for t in TAGGED}
    labels.update({b.slot: b.product.label for b in (*DELIVERY, UNWATCHED.batch)})
    return labels


def location_tag(slot: str) -> bytes:
    """The SGLN-96 location tag on `slot` of shelf A."""
    return sgln96(GLN_PREFIX, GLN_REFERENCE, slot_index(slot) + 1)


def product_names() -> dict[str, str]:
    """GTIN -> product name."""
    return {p.gtin: p.name for p in PRODUCTS}


def book_delivery(db: Path, today: date, gateway: str = GATEWAY) -> int:
    """Book the delivery into a new ledger (of `gateway`) before the daemon starts: one
    `receive` movement per counted batch, and one per tagged pack out of the antennas' reach,
    into its slot. Returns the packs booked."""
    decoder = EpcDecoder()
    tagged = UNWATCHED.batch
    keeper = InventoryKeeper(db, {}, SITE, gateway)
    try:
        with keeper.group():
            for batch in DELIVERY:
                keeper.commit([_received(batch, today, batch.quantity)])
            for serial in range(1, tagged.quantity + 1):
                pack = decoder.decode(UNWATCHED.epc(serial))
                assert isinstance(pack, PackId)
                keeper.commit([_received(tagged, today, 1, pack)])
    finally:
        keeper.close()
    return sum(batch.quantity for batch in (*DELIVERY, tagged))


def _received(batch: Batch, today: date, quantity: int, pack: PackId | None = None) -> Movement:
    return Movement(
        MovementKind.RECEIVE,
        batch.product.gtin,
        quantity,
        serial=pack.serial if pack else "",
        epc=pack.epc if pack else None,
        batch=batch.batch,
        expiry=batch.expiry(today).isoformat(),
        to_slot=batch.slot,
        actor="goods-in",
        reason="delivery booked in",
        reference="delivery-demo-1",
    )
