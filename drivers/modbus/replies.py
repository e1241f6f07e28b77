"""Whether a reply answers the request it was taken for.

On RTU pymodbus accepts any answer from the right device id, so a late answer to an earlier
request can be taken for the current one. Most such answers give themselves away: another
function, another quantity of values, or (a write's echo) another address. Two reads of the same
values are alike to the byte; only keeping the line quiet after a missed answer tells them apart.
"""

from __future__ import annotations

from pymodbus.pdu import ModbusPDU

from drivers.modbus.wire import FunctionCode

_WRITES = (FunctionCode.WRITE_COILS, FunctionCode.WRITE_REGISTERS)
_BIT_READS = (FunctionCode.READ_COILS, FunctionCode.READ_DISCRETE_INPUTS)


def mismatch(reply: ModbusPDU, code: FunctionCode, address: int, count: int) -> str | None:
    """Why `reply` does not answer a request of function `code` for `count` values at
    `address`, or None when it does. An exception reply is judged by its function only."""
    if reply.function_code & 0x7F != code:
        return f"a function {reply.function_code & 0x7F} reply to a function {int(code)} request"
    if reply.isError():
        return None
    if code in _WRITES:
        if (reply.address, reply.count) != (address, count):
            return (
                f"a write of {count} values at {address} confirmed as {reply.count}"
                f" at {reply.address}"
            )
    elif code in _BIT_READS:
        if len(reply.bits) != 8 * ((count + 7) // 8):
            return f"asked for {count} inputs, the reply held {len(reply.bits)} bits"
    elif len(reply.registers) != count:
        return f"asked for {count} values, the reply held {len(reply.registers)}"
    return None
