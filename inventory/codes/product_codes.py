"""A pack's code scanned at the shelves, judged against what its product's codes carry.

A scanner's code names a pack to book, put or pick, so beyond what GS1 makes invalid
(`barcodes`) it is refused when it lacks what the pack's code must give:

- a GS1 Digital Link with neither batch nor expiry names the product, not the pack (a QR code
  leading to the product's page, say): the pack's DataMatrix is to be scanned;
- a code without GS whose last field (a serial, say) hides a batch or an expiry that the code
  lacks, for a product whose codes carry both (`Carried.batch_and_expiry`, as a medicine's do):
  the fields ran together (`run_together` gives the rule);
- a code without a serial, for a product that requires one (`Carried.serial`), naming the serial
  its batch may hold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from inventory.codes.barcodes import BarcodeError, PackScan, read_code
from inventory.codes.run_together import SET_GS_OR_MISPRINTED, RanOn, serial_hint


@dataclass(frozen=True, slots=True)
class Carried:
    """What every pack's code of a product carries: a serial (`serial`: the product's
    `require_serial`), a batch and an expiry (`batch_and_expiry`, as a medicine's code does)."""

    serial: bool = True
    batch_and_expiry: bool = True


def read_scanned_pack(text: str, carried: Callable[[str], Carried]) -> PackScan:
    """The pack a scanner's code names, `carried(gtin)` saying what its product's codes
    carry; BarcodeError explains any reason to refuse it."""
    reading = read_code(text)
    scan = reading.scan
    if reading.digital_link and not scan.batch and scan.expiry is None:
        raise BarcodeError(
            f"the code is a GS1 Digital Link with GTIN {scan.gtin} and neither batch nor "
            "expiry: it names the product, not the pack: scan the pack's GS1 DataMatrix"
        )
    needs = carried(scan.gtin)
    ran_on = reading.ran_on
    if ran_on is not None and needs.batch_and_expiry and reading.hides_batch_or_expiry():
        raise BarcodeError(
            f"{ran_on}, and the codes of GTIN {scan.gtin} carry a batch and an expiry: the "
            f"fields ran together because {SET_GS_OR_MISPRINTED}. If this product's codes may "
            "truly lack them (a medical device's), set batch_and_expiry = false in its "
            "[[products]] entry"
        )
    check_serial(scan, needs.serial, ran_on)
    return scan


def check_serial(scan: PackScan, require_serial: bool, ran_on: RanOn | None = None) -> None:
    """Refuse a pack without a serial when its product requires serialized packs; `ran_on`,
    what the code's last field may hide, names the serial it may hold."""
    if scan.serial or not require_serial:
        return
    raise BarcodeError(
        f"GTIN {scan.gtin} is a serialized product and this code has no serial number "
        f"(AI 21): do not accept the pack unless its code truly has none"
        f"{serial_hint(ran_on, scan.batch)}"
    )
