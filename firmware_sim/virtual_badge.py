"""A virtual contactless card (a pharmacist's badge) for pcscd's virtual reader (vpcd).

vpcd listens on TCP (35963 for its first reader); a card is a client of it. Each message is a
2-byte big-endian length and a payload: one byte is a control (0 power off, 1 power on, 2 reset,
4 ask for the ATR), more is an APDU to answer with data and a status word. Connecting puts the
card on the reader, closing takes it off.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct

VPCD_PORT = 35963
# ATR of a contactless storage card as PC/SC part 3 readers report it.
ATR = bytes.fromhex("3B8F8001804F0CA000000306030001000000006A")
GET_UID = bytes.fromhex("FFCA000000")
SW_OK = b"\x90\x00"
SW_NOT_SUPPORTED = b"\x6a\x81"
_CONTROL_GET_ATR = 4


class VirtualBadge:
    """A badge with a UID; `insert()` and `remove()` put it on and off the virtual reader."""

    def __init__(self, uid: bytes, host: str = "127.0.0.1", port: int = VPCD_PORT):
        self.uid = uid
        self._host = host
        self._port = port
        self._task: asyncio.Task[None] | None = None
        self.apdus = 0

    async def insert(self, timeout: float = 5.0) -> None:
        """Put the badge on the reader (connect to vpcd)."""
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self._host, self._port), timeout
        )
        self._task = asyncio.get_running_loop().create_task(self._serve(reader, writer))

    async def remove(self) -> None:
        """Take the badge off the reader."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        try:
            while True:
                # Without quick ACKs each APDU waits ~40 ms for the delayed ACK.
                if sock is not None and hasattr(socket, "TCP_QUICKACK"):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
                (size,) = struct.unpack("!H", await reader.readexactly(2))
                message = await reader.readexactly(size)
                answer = self._answer(message)
                if answer is not None:
                    writer.write(struct.pack("!H", len(answer)) + answer)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def _answer(self, message: bytes) -> bytes | None:
        if len(message) == 1:
            return ATR if message[0] == _CONTROL_GET_ATR else None
        self.apdus += 1
        if message == GET_UID:
            return self.uid + SW_OK
        return SW_NOT_SUPPORTED
