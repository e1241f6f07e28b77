"""Reader settings commands: work antenna (0x74) and output power (0x76), and their replies."""

from __future__ import annotations

from drivers.frames import Frame
from drivers.r2000.codec import encode_frame

CMD_SET_WORK_ANTENNA = 0x74
CMD_SET_OUTPUT_POWER = 0x76
SUCCESS = 0x10

ERROR_TEXT = {
    0x11: "command failed",
    0x22: "antenna missing",
}


def set_work_antenna(address: int, antenna: int) -> bytes:
    """Make `antenna` (1-8) the one real-time inventory uses."""
    if not 1 <= antenna <= 8:
        raise ValueError(f"antenna {antenna} does not exist; R2000 readers have antennas 1-8")
    return encode_frame(address, CMD_SET_WORK_ANTENNA, bytes((antenna - 1,)))


def set_output_power(address: int, dbm: int) -> bytes:
    """Set the RF output power of every antenna, in dBm (0-33)."""
    if not 0 <= dbm <= 33:
        raise ValueError(f"output power {dbm} dBm is out of range; R2000 modules take 0-33 dBm")
    return encode_frame(address, CMD_SET_OUTPUT_POWER, bytes((dbm,)))


def status_of(frame: Frame) -> int | None:
    """The status code of a one-byte settings reply (0x10 = success), else None."""
    return frame.data[0] if len(frame.data) == 1 else None


def describe(code: int) -> str:
    """A readable text for a reader error code."""
    return ERROR_TEXT.get(code, f"error 0x{code:02x}")
