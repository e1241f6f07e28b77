"""The register tables of one simulated shelf controller, laid out from its profile."""

from __future__ import annotations

from pymodbus.simulator import DataType, SimData, SimDevice

from drivers.modbus.profile import Setting, ShelfProfile, Table

_BIT_TABLES = (Table.COILS, Table.DISCRETE_INPUTS)


def controller_device(device_id: int, slots: int, profile: ShelfProfile) -> SimDevice:
    """A pymodbus device holding every plane, the buttons and the settings of `profile`, all
    zero (dark, no presses) as after power-on."""
    tables: dict[Table, list[SimData]] = {table: [] for table in Table}
    for plane in profile.all_planes:
        tables[plane.table].append(_span(plane.table, plane.base, slots))
    tables[profile.buttons.table].append(_span(profile.buttons.table, profile.buttons.base, slots))
    for setting in _settings(profile):
        tables[setting.table].append(_value(setting))
    for table, entries in tables.items():
        if not entries:  # pymodbus needs something in every table: one unused address
            entries.append(_span(table, 0, 1) if table in _BIT_TABLES else SimData(0))
    return SimDevice(
        device_id,
        simdata=(
            tables[Table.COILS],
            tables[Table.DISCRETE_INPUTS],
            tables[Table.HOLDING_REGISTERS],
            tables[Table.INPUT_REGISTERS],
        ),
    )


def _settings(profile: ShelfProfile) -> list[Setting]:
    return [*profile.settings, *([profile.heartbeat] if profile.heartbeat else [])]


def _span(table: Table, address: int, count: int) -> SimData:
    if table in _BIT_TABLES:
        return SimData(address, count=count, values=False, datatype=DataType.BITS)
    return SimData(address, count=count, values=0, datatype=DataType.REGISTERS)


def _value(setting: Setting) -> SimData:
    if setting.table in _BIT_TABLES:
        return SimData(setting.address, values=bool(setting.value), datatype=DataType.BITS)
    return SimData(setting.address, values=setting.value, datatype=DataType.REGISTERS)
