"""systemd's notification protocol, spoken directly: each message is one datagram of
newline-separated KEY=VALUE fields sent to the unix socket named by $NOTIFY_SOCKET (a name
starting with '@' is in the abstract namespace). Without $NOTIFY_SOCKET every call does nothing,
so the daemon runs the same by hand, in tests and under systemd.

A notification never stops the daemon: a socket that is gone or full loses the message (logged
once), as a missed watchdog ping would under any other failure.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


def socket_address(name: str) -> str | bytes:
    """The address to send to for a $NOTIFY_SOCKET value ('@name': abstract namespace)."""
    if name.startswith("@"):
        return b"\0" + name[1:].encode()
    return name


def watchdog_seconds(environ: Mapping[str, str] | None = None) -> float | None:
    """The watchdog timeout systemd set for this process ($WATCHDOG_USEC), or None when there
    is none (unset, not a positive number, or meant for another process by $WATCHDOG_PID)."""
    env = os.environ if environ is None else environ
    pid = env.get("WATCHDOG_PID")
    if pid is not None and pid.strip() != str(os.getpid()):
        return None
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 1_000_000 if usec > 0 else None


class Notifier:
    """Sends notifications to the service manager, when there is one."""

    def __init__(self, socket_name: str | None):
        self.socket_name = socket_name or None
        self._address = socket_address(self.socket_name) if self.socket_name else None
        self._sock: socket.socket | None = None
        self._failed = False
        self.sent = 0

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        """The notifier $NOTIFY_SOCKET asks for (one that does nothing when it is unset)."""
        env = os.environ if environ is None else environ
        return cls(env.get("NOTIFY_SOCKET"))

    @property
    def enabled(self) -> bool:
        """Whether there is a service manager to tell."""
        return self._address is not None

    def send(self, *fields: str) -> bool:
        """Send one message made of `fields` ("READY=1", "STATUS=..."); whether it went out."""
        if self._address is None or not fields:
            return False
        message = "\n".join(field.replace("\n", " ") for field in fields).encode()
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self._sock.setblocking(False)  # a stuck manager must not stall the event loop
            self._sock.sendto(message, self._address)
        except OSError as exc:
            if not self._failed:
                log.warning("cannot notify the service manager at %s: %s", self.socket_name, exc)
                self._failed = True
            return False
        self._failed = False
        self.sent += 1
        return True

    def ready(self, status: str) -> bool:
        """Start-up is done."""
        return self.send("READY=1", f"STATUS={status}")

    def status(self, status: str) -> bool:
        """What the daemon is doing, in words (shown by `systemctl status`)."""
        return self.send(f"STATUS={status}")

    def watchdog(self) -> bool:
        """Alive and making progress."""
        return self.send("WATCHDOG=1")

    def stopping(self, status: str = "stopping") -> bool:
        """Shutdown has begun."""
        return self.send("STOPPING=1", f"STATUS={status}")

    def close(self) -> None:
        """Let go of the socket (a later send opens a new one)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
