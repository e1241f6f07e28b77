"""Processes by name, read from /proc (what `pgrep -x` answers, without needing procps).

Only processes under this process's own root directory count: in a chroot that shares the
host's /proc (a first-contact check), the host's services are not ours to use or to stop."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


def pids_named(name: str) -> list[int]:
    """The ids of the running processes under our root whose command name is exactly `name`."""
    ours = os.stat("/")
    found = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() != name:
                continue
            root = os.stat(comm.parent / "root")
        except OSError:
            continue  # it ended while we looked, or is not ours to look at
        if (root.st_dev, root.st_ino) == (ours.st_dev, ours.st_ino):
            found.append(int(comm.parent.name))
    return sorted(found)


def children_named(parent: int, name: str) -> list[int]:
    """The ids of `parent`'s running children whose command name is exactly `name`."""
    found = []
    for pid in pids_named(name):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        # After "(comm)": state, then the parent's id.
        if int(stat.rpartition(")")[2].split()[1]) == parent:
            found.append(pid)
    return found


def ended(pid: int) -> bool:
    """Whether process `pid` is gone (or a zombie: it ended, its parent has not looked yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


def command_line(pid: int) -> list[str]:
    """The arguments process `pid` was started with ([] once it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]
    except OSError:
        return []


# Run inside a new network namespace: brings its loopback up (what `ip link set lo up` does,
# without needing iproute2, which a stock Debian root lacks), then becomes the program given.
LOOPBACK_UP = """
import fcntl, os, socket, struct, sys
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    flags = struct.unpack("16sh", fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack("16sh", b"lo", 0)))[1]
    fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | IFF_UP))
os.execvp(sys.argv[1], sys.argv[1:])
"""


def private_network() -> bool:
    """Whether this process may run a program in a network of its own, with a loopback no
    other program uses (root and unshare)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(in_private_network(["true"]), capture_output=True, check=False)
    return probe.returncode == 0


def in_private_network(argv: list[str]) -> list[str]:
    """`argv` run in a network of its own, its loopback up (see `private_network`)."""
    return ["unshare", "-n", sys.executable, "-c", LOOPBACK_UP, *argv]
