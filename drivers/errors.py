"""The drivers' exceptions, one hierarchy. Callers decide by type:

- `Retryable`: the device or service did not answer now (a controller's exception or timeout:
  `drivers.modbus.shelf_bus.ModbusError`; the PC/SC service gone:
  `drivers.pcsc.badge_reader.PcscUnavailable`); the driver tries again on its next cycle.
- anything else under `DriverError`: what a device sent cannot be right (a frame whose content
  does not add up: `drivers.chafon.inventory.MalformedAnswer`); it is counted and dropped.
"""

from __future__ import annotations


class DriverError(Exception):
    """Anything a driver refuses or cannot do."""


class Retryable(DriverError):
    """May succeed when tried again on the next cycle."""
