"""A simulator's control socket: a small line protocol on a loopback TCP port, so that a shell
(`nc 127.0.0.1 PORT`), a test in another language or `rxedge sim ctl` can drive a simulator
while it runs: one command a line, one answer a line, `ok[ detail]` or `error reason`.

The commands themselves are each simulator's (firmware_sim.controls); `help` lists them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping

MAX_LINE = 1024

# A command's handler gets the words after the command's name and returns the answer's detail
# ("" for a bare ok); it raises ControlError to answer `error ...`.
Handler = Callable[[list[str]], Awaitable[str]]


class ControlError(Exception):
    """A command that cannot be carried out; the message is the answer's reason."""


class ControlServer:
    """Serves `commands` (name -> (usage, handler)) on 127.0.0.1:`port` (0: any free port)."""

    def __init__(self, commands: Mapping[str, tuple[str, Handler]], port: int = 0):
        self._commands = commands
        self._port = port
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        return self._port

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", self._port, limit=MAX_LINE
        )
        self._port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def answer(self, line: str) -> str:
        """The answer to one command line."""
        words = line.split()
        if not words:
            return "error empty command; try help"
        name, args = words[0].lower(), words[1:]
        if name == "help":
            return "ok " + "; ".join(usage for usage, _ in self._commands.values())
        found = self._commands.get(name)
        if found is None:
            return f"error unknown command {name!r}; known: help, {', '.join(self._commands)}"
        usage, handler = found
        try:
            detail = await handler(args)
        except ControlError as exc:
            return f"error {exc}"
        except (ValueError, IndexError):
            return f"error usage: {usage}"
        except RuntimeError as exc:  # the simulator is not running (a shelf made to fail)
            return f"error {exc}"
        return f"ok {detail}" if detail else "ok"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    raw = await reader.readuntil(b"\n")
                except asyncio.IncompleteReadError as exc:
                    raw = exc.partial  # the last line without its newline, then the end
                    if not raw.strip():
                        return
                except asyncio.LimitOverrunError:
                    writer.write(f"error line longer than {MAX_LINE} bytes\n".encode())
                    return
                try:
                    text = raw.decode().strip()
                except UnicodeDecodeError:
                    reply = "error not UTF-8 text"
                else:
                    reply = await self.answer(text)
                writer.write(reply.encode() + b"\n")
                await writer.drain()
        except ConnectionError:
            return
        finally:
            writer.close()


def switch(word: str) -> bool:
    """`on` or `off` as a bool."""
    if word.lower() not in ("on", "off"):
        raise ControlError(f"say on or off, not {word!r}")
    return word.lower() == "on"


def epc_bytes(word: str) -> bytes:
    """An EPC written in hex, as bytes."""
    try:
        epc = bytes.fromhex(word)
    except ValueError:
        raise ControlError(f"EPC {word!r} is not hex, e.g. 3034257BF7194E4000003039") from None
    if not 2 <= len(epc) <= 62:
        raise ControlError(f"EPC {word!r} must be 2 to 62 bytes")
    return epc


def number(word: str, lowest: int, highest: int, what: str) -> int:
    """An integer in lowest..highest."""
    if not word.isdigit() or not lowest <= int(word) <= highest:
        raise ControlError(f"{what} must be {lowest} to {highest}, not {word!r}")
    return int(word)
