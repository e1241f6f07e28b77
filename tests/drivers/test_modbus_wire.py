"""RTU frame sizes and wire times, checked against pymodbus's own framer and against the bytes a
real exchange puts on the simulated line; and the line itself keeping to its baud rate."""

from __future__ import annotations

import os
import select
import time
import tty
from collections.abc import Iterator

import pytest
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU
from pymodbus.pdu.bit_message import WriteMultipleCoilsRequest
from pymodbus.pdu.register_message import (
    ReadInputRegistersRequest,
    ReadInputRegistersResponse,
    WriteMultipleRegistersRequest,
)

from drivers.modbus.profile import RXEDGE_PTL_V1
from drivers.modbus.rtu_line import RtuClient
from drivers.modbus.shelf_bus import ControllerSpec, ShelfBus
from drivers.modbus.wire import (
    FunctionCode,
    exchange_time,
    request_size,
    response_size,
)
from firmware_sim.rs485_line import Rs485Line
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator


def framed(pdu: object) -> int:
    return len(FramerRTU(DecodePDU(False)).buildFrame(pdu))  # type: ignore[arg-type]


def test_frame_sizes_match_pymodbus_framer() -> None:
    read = ReadInputRegistersRequest(address=1001, count=24, dev_id=3)
    assert request_size(FunctionCode.READ_INPUT_REGISTERS, 24) == framed(read) == 8
    answer = ReadInputRegistersResponse(registers=[0] * 24, dev_id=3)
    assert response_size(FunctionCode.READ_INPUT_REGISTERS, 24) == framed(answer) == 53
    registers = WriteMultipleRegistersRequest(address=1001, registers=[1, 2, 3], dev_id=3)
    assert request_size(FunctionCode.WRITE_REGISTERS, 3) == framed(registers) == 15
    coils = WriteMultipleCoilsRequest(address=1, bits=[True] * 10, dev_id=3)
    assert request_size(FunctionCode.WRITE_COILS, 10) == framed(coils) == 11
    assert response_size(FunctionCode.WRITE_COILS, 10) == 8
    assert response_size(FunctionCode.READ_DISCRETE_INPUTS, 1) == 6


def test_an_exchange_counts_both_frames_and_two_silences() -> None:
    # 8 + 53 characters and 2 x 3.5 characters of silence, 10 bits each, at 19200 baud.
    assert exchange_time(19200, FunctionCode.READ_INPUT_REGISTERS, 24) == pytest.approx(
        (8 + 53 + 7) * 10 / 19200
    )


async def test_the_bytes_on_the_line_are_the_computed_frames() -> None:
    sim = ShelfControllerSimulator(slots=8, rtu=True, baudrate=115200, paced=False)
    await sim.start()
    bus = ShelfBus(
        "rs485",
        RtuClient(sim.serial_port, 115200),
        [ControllerSpec("A", 1, 8, RXEDGE_PTL_V1)],
        lambda _event: None,
    )
    try:
        await bus.cycle()  # first contact: one button read, then the whole state in four writes
    finally:
        bus.close()
        await sim.stop()
    exchanges = [(FunctionCode.READ_INPUT_REGISTERS, 8), (FunctionCode.WRITE_COILS, 8)] + [
        (FunctionCode.WRITE_REGISTERS, 8)
    ] * 3
    assert sim.line.bytes_carried == sum(request_size(*e) + response_size(*e) for e in exchanges)


@pytest.fixture
def line() -> Iterator[tuple[Rs485Line, int, int]]:
    rs485 = Rs485Line(baudrate=9600)
    rs485.start()
    host = os.open(rs485.host_port, os.O_RDWR | os.O_NOCTTY)
    devices = os.open(rs485.device_port, os.O_RDWR | os.O_NOCTTY)
    for fd in (host, devices):
        tty.setraw(fd)
    yield rs485, host, devices
    os.close(host)
    os.close(devices)
    rs485.stop()


def receive(fd: int, size: int, timeout: float = 2.0) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while len(data) < size:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise TimeoutError(f"got {len(data)} of {size} bytes")
        data += os.read(fd, size - len(data))
    return data


def test_a_paced_line_holds_each_frame_for_its_time_on_the_wire(
    line: tuple[Rs485Line, int, int],
) -> None:
    _, host, devices = line
    request = bytes([1, 16]) + bytes(94)
    started = time.monotonic()
    os.write(host, request)
    assert receive(devices, len(request)) == request
    crossed = time.monotonic() - started
    assert crossed >= 96 * 10 / 9600 * 0.98  # 100 ms for 96 bytes at 9600 baud
    os.write(devices, bytes(20))  # an eager device answers at once...
    receive(host, 20)
    # ...but the line keeps 3.5 characters of silence before the answer's 20 characters.
    assert time.monotonic() - started >= (96 + 3.5 + 20) * 10 / 9600 * 0.98


def test_a_silenced_device_never_hears_its_requests(line: tuple[Rs485Line, int, int]) -> None:
    rs485, host, devices = line
    rs485.silence(2)
    os.write(host, bytes([2, 4, 0, 1, 0, 1, 0, 0]))
    deadline = time.monotonic() + 2
    while not rs485.requests[(2, 4)]:  # one request at a time, as a Modbus master sends them
        assert time.monotonic() < deadline, "the line never took the request"
        time.sleep(0.001)
    os.write(host, bytes([3, 4, 0, 1, 0, 1, 0, 0]))
    assert receive(devices, 8)[0] == 3, "the request for device 2 reached the devices"
    assert rs485.requests[(2, 4)] == 1 and rs485.requests[(3, 4)] == 1
