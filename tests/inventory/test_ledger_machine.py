"""The ledger driven by random movements against a plain-Python model (hypothesis state
machine): on-hand, FEFO order, refused movements, index == store, the chain verifying, and
restarts, after every step."""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from inventory.errors import StockError
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind, StockStatus
from inventory.ledger.verify import verify
from inventory.replenishment.policy import Product
from inventory.site_calendar import SiteCalendar

TODAY = date(2026, 11, 26)
GTINS = ["04012345123456", "04012345987652", "05012345678900"]
SLOTS = ["A-01", "A-02", "B-01"]
# Batch -> expiry; one batch is already expired on TODAY.
BATCHES = {"B1": "2026-12-31", "B2": "2027-06-30", "B3": "2026-11-01", "": None}
AVAILABLE, QUARANTINED = StockStatus.AVAILABLE, StockStatus.QUARANTINED
Key = tuple[str, str, str, str, StockStatus]

gtins, slots, batches = (
    st.sampled_from(GTINS),
    st.sampled_from(SLOTS),
    st.sampled_from(list(BATCHES)),
)
quantities = st.integers(1, 4)


def clock() -> datetime:
    return datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="rxedge-machine-"))
        self.path = self.dir / "ledger.sqlite"
        product = Product(GTINS[0], "Amoxicillin", reorder_point=2, par=8)
        self.products = {product.gtin: product}
        self.keeper = self._open()
        self.model: Counter[Key] = Counter()
        self.serials = 0

    def _open(self) -> InventoryKeeper:
        return InventoryKeeper(
            self.path,
            self.products,
            "s",
            "g",
            SiteCalendar(UTC, clock),
            integrity_check="quick_check",
        )

    def teardown(self) -> None:
        self.keeper.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _try(self, movement: Movement, possible: bool) -> None:
        before = self.keeper.ledger.count
        try:
            self.keeper.commit([movement])
        except StockError:
            assert not possible, f"refused a possible movement: {movement}"
            assert self.keeper.ledger.count == before
            return
        assert possible, f"accepted an impossible movement: {movement}"
        for slot, status, delta in movement.stock_effects():
            self.model[(slot, movement.gtin, movement.batch, movement.serial, status)] += delta
        self.model = +self.model

    # Rules -----------------------------------------------------------------------------------

    @rule(gtin=gtins, batch=batches, slot=slots, qty=quantities)
    def receive(self, gtin: str, batch: str, slot: str, qty: int) -> None:
        self._try(
            Movement(
                MovementKind.RECEIVE,
                gtin,
                qty,
                batch=batch,
                expiry=BATCHES[batch],
                to_slot=slot,
                actor="pharmacist-1",
            ),
            True,
        )

    @rule(gtin=gtins, slot=slots)
    def receive_serialized_pack(self, gtin: str, slot: str) -> None:
        self.serials += 1
        serial = f"S{self.serials}"
        self._try(
            Movement(
                MovementKind.PUT_AWAY,
                gtin,
                1,
                serial=serial,
                epc=f"urn:epc:id:sgtin:x.{gtin}.{serial}",
                batch="B1",
                expiry=BATCHES["B1"],
                to_slot=slot,
            ),
            True,
        )

    @rule(
        kind=st.sampled_from([MovementKind.PICK, MovementKind.DISPENSE, MovementKind.WRITE_OFF]),
        gtin=gtins,
        batch=batches,
        slot=slots,
        qty=quantities,
    )
    def take_counted(self, kind: MovementKind, gtin: str, batch: str, slot: str, qty: int) -> None:
        have = self.model[(slot, gtin, batch, "", AVAILABLE)]
        self._try(
            Movement(kind, gtin, qty, batch=batch, expiry=BATCHES[batch], from_slot=slot),
            have >= qty,
        )

    @precondition(lambda self: any(k[3] for k in self.model))
    @rule(data=st.data())
    def pick_serialized_pack(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(k for k in self.model if k[3])))
        slot, gtin, batch, serial, status = key
        self._try(
            Movement(
                MovementKind.PICK,
                gtin,
                1,
                serial=serial,
                epc=f"urn:epc:id:sgtin:x.{gtin}.{serial}",
                batch=batch,
                expiry=BATCHES[batch],
                from_slot=slot,
                from_status=status,
            ),
            status is AVAILABLE,
        )

    @rule(gtin=gtins, batch=batches, a=slots, b=slots, qty=quantities)
    def move(self, gtin: str, batch: str, a: str, b: str, qty: int) -> None:
        have = self.model[(a, gtin, batch, "", AVAILABLE)]
        self._try(
            Movement(
                MovementKind.MOVE,
                gtin,
                qty,
                batch=batch,
                expiry=BATCHES[batch],
                from_slot=a,
                to_slot=b,
            ),
            have >= qty,
        )

    @rule(gtin=gtins, batch=batches, slot=slots, qty=quantities, hold=st.booleans())
    def quarantine_or_release(self, gtin: str, batch: str, slot: str, qty: int, hold: bool) -> None:
        src, dst = (AVAILABLE, QUARANTINED) if hold else (QUARANTINED, AVAILABLE)
        kind = MovementKind.QUARANTINE if hold else MovementKind.RELEASE
        have = self.model[(slot, gtin, batch, "", src)]
        self._try(
            Movement(
                kind,
                gtin,
                qty,
                batch=batch,
                expiry=BATCHES[batch],
                from_slot=slot,
                to_slot=slot,
                from_status=src,
                to_status=dst,
                reason="recall",
            ),
            have >= qty,
        )

    @rule(gtin=gtins, batch=batches, slot=slots, qty=quantities, up=st.booleans())
    def count_adjustment(self, gtin: str, batch: str, slot: str, qty: int, up: bool) -> None:
        have = self.model[(slot, gtin, batch, "", AVAILABLE)]
        movement = Movement(
            MovementKind.COUNT_ADJUSTMENT,
            gtin,
            qty,
            batch=batch,
            expiry=BATCHES[batch],
            reference="stocktake-1",
            **({"to_slot": slot} if up else {"from_slot": slot}),
        )
        self._try(movement, up or have >= qty)

    @rule()
    def restart(self) -> None:
        self.keeper.close()
        self.keeper = self._open()

    # Invariants ------------------------------------------------------------------------------

    @invariant()
    def on_hand_matches_the_model(self) -> None:
        for gtin in GTINS:
            expected = sum(q for k, q in self.model.items() if k[1] == gtin and k[4] is AVAILABLE)
            assert self.keeper.on_hand(gtin) == expected

    @invariant()
    def fefo_order_matches_the_model(self) -> None:
        for gtin in GTINS:
            wanted = sorted(
                (BATCHES[k[2]] or "9999-12-31", k[0], k[3])
                for k in self.model
                if k[1] == gtin
                and k[4] is AVAILABLE
                and (BATCHES[k[2]] is None or BATCHES[k[2]] >= TODAY.isoformat())
            )
            got = [
                (line.expiry or "9999-12-31", line.slot, line.serial)
                for line in self.keeper.index.fefo(gtin, TODAY)
            ]
            assert got == wanted

    @invariant()
    def index_equals_store_and_model(self) -> None:
        indexed = {
            line.key: (line.quantity, line.epc, line.expiry) for line in self.keeper.index.lines()
        }
        stored = {
            (r[0], r[1], r[2], r[3], StockStatus(r[4])): (r[5], r[6], r[7])
            for r in self.keeper.db.execute(
                "SELECT slot, gtin, batch, serial, status, quantity, epc, expiry FROM stock"
            )
        }
        assert indexed == stored
        assert {key: line[0] for key, line in indexed.items()} == dict(self.model)

    @invariant()
    def chain_verifies(self) -> None:
        verdict = verify(self.keeper.db)
        assert verdict.ok, verdict.problems


LedgerMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLedgerMachine = LedgerMachine.TestCase
