"""A private mosquitto on a free loopback port, for the demo and the tests.

Besides the plain listener it can run a TLS listener (optionally requiring client certificates),
require passwords (`write_password_file`) and enforce an ACL file, as a central broker would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from edge.errors import EdgeError

_CANDIDATES = ("mosquitto", "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


class BrokerUnavailable(EdgeError, RuntimeError):
    """No mosquitto binary on this machine."""


def find_program(candidates: Sequence[str], missing: Exception) -> str:
    """The path of the first of `candidates` (names looked up on PATH, or paths) found here;
    raises `missing` (saying how to get the program) when none is."""
    if found := next((found for c in candidates if (found := shutil.which(c))), None):
        return found
    raise missing


def find_mosquitto() -> str:
    """Path of the mosquitto binary, or BrokerUnavailable saying how to get one."""
    return find_program(
        _CANDIDATES,
        BrokerUnavailable(
            "mosquitto is not installed: run `make demo` (it installs it), "
            "or `apt-get install mosquitto`, or pass --broker mqtt://HOST:PORT"
        ),
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports on 127.0.0.1 that nothing listens on right now: each held
    until all are chosen (one chosen and let go may be handed out again at once)."""
    with contextlib.ExitStack() as held:
        ports = []
        for _ in range(count):
            sock = held.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def write_password_file(path: Path, users: dict[str, str]) -> Path:
    """Write a mosquitto password file for `users` (name: password), hashed by mosquitto_passwd
    from a plain file only its owner can read (`-U`): no password is ever on a command line,
    where `ps` would show it to every user of the machine."""
    tool = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    plain = "".join(f"{user}:{password}\n" for user, password in users.items())
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        out.write(plain)
    subprocess.run([tool, "-U", str(path)], check=True)
    return path


@dataclass(frozen=True, slots=True)
class TlsListener:
    """A TLS listener's files (PEM): the CA that client certificates must chain to, the server's
    certificate and key. `require_certificate`: clients must show a certificate from that CA;
    `identity_as_username`: its CN is then the client's username (no password asked)."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    require_certificate: bool = False
    identity_as_username: bool = False


class LocalBroker:
    """Runs mosquitto with persistence in `workdir`; stop and start again keep the ports.

    With `tls`, a second listener (`tls_port`, `tls_url`) speaks TLS only. With `password_file`,
    every listener refuses clients without a valid username and password; with `acl_file`, the
    broker allows each user only what the file grants. `detached`: mosquitto runs in a session
    of its own, so the terminal's signals (Ctrl-C, a window closed) reach only the program that
    started it, which stops it in its own time (after what still talks to it)."""

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        *,
        tls: TlsListener | None = None,
        password_file: Path | None = None,
        acl_file: Path | None = None,
        detached: bool = False,
    ):
        self.workdir = workdir
        self.detached = detached
        chosen = free_ports(2)
        self.port = port or chosen[0]
        self.tls = tls
        self.tls_port = chosen[1] if tls is not None else None
        self.password_file = password_file
        self.acl_file = acl_file
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        """The TLS listener's URL (ValueError when there is none)."""
        if self.tls_port is None:
            raise ValueError("this broker has no TLS listener")
        return f"mqtts://127.0.0.1:{self.tls_port}"

    def config_text(self) -> str:
        lines = [
            *(
                [f"password_file {self.password_file}", "allow_anonymous false"]
                if self.password_file is not None
                else ["allow_anonymous true"]
            ),
            *([f"acl_file {self.acl_file}"] if self.acl_file is not None else []),
            f"listener {self.port} 127.0.0.1",
            *self._tls_lines(),
            "persistence true",
            f"persistence_location {self.workdir}/",
            # The default (1000) silently drops QoS 1 messages queued for a slow subscriber.
            "max_queued_messages 0",
            "log_dest none",
        ]
        if os.geteuid() == 0:
            lines.append("user root")
        return "\n".join(lines) + "\n"

    def _tls_lines(self) -> list[str]:
        if self.tls is None:
            return []
        return [
            f"listener {self.tls_port} 127.0.0.1",
            f"cafile {self.tls.ca_file}",
            f"certfile {self.tls.cert_file}",
            f"keyfile {self.tls.key_file}",
            f"require_certificate {'true' if self.tls.require_certificate else 'false'}",
            f"use_identity_as_username {'true' if self.tls.identity_as_username else 'false'}",
        ]

    async def start(self, timeout: float = 10.0) -> None:
        """Start mosquitto and wait until it accepts connections. Stopped on the way (a signal
        cancels the wait) or failing, it leaves no mosquitto running: one detached from the
        terminal would outlive everything else."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(self.config_text())
        self._process = subprocess.Popen(
            [find_mosquitto(), "-c", str(conf)],
            stdin=subprocess.DEVNULL,  # it reads nothing; a terminal it held would stay open
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=self.detached,
        )
        try:
            await self._until_listening(timeout)
        except BaseException:
            await self.stop()
            raise

    async def _until_listening(self, timeout: float) -> None:
        assert self._process is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if self._process.poll() is not None:
                error = self._process.stderr.read().decode() if self._process.stderr else ""
                raise RuntimeError(f"mosquitto exited at start: {error.strip()}")
            waiting = [port for port in self._ports() if not await listens(port)]
            if not waiting:
                return
            await asyncio.sleep(0.02)
        raise TimeoutError(f"mosquitto did not listen on port {self.port} within {timeout} s")

    def _ports(self) -> list[int]:
        return [self.port] if self.tls_port is None else [self.port, self.tls_port]

    async def stop(self) -> None:
        """Stop mosquitto (it saves its persistent state first)."""
        process, self._process = self._process, None
        if process is None:
            return
        await stop_process(process)
        if process.stderr:
            process.stderr.close()

    def reload(self) -> None:
        """Make mosquitto read its password and ACL files again (SIGHUP), as an operator does
        after editing them; it applies them a moment later, to messages that follow."""
        if self._process is None:
            raise RuntimeError("mosquitto is not running")
        self._process.send_signal(signal.SIGHUP)

    def kill(self) -> None:
        """Kill mosquitto at once, as a crash or power cut would."""
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait()
            if process.stderr:
                process.stderr.close()


async def stop_process(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """Ask `process` to end (it saves what it keeps first), killing it after `grace` s."""
    process.terminate()
    try:
        await asyncio.to_thread(process.wait, grace)
    except subprocess.TimeoutExpired:
        process.kill()
        await asyncio.to_thread(process.wait)


async def listens(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True
