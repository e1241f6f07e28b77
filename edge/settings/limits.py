"""Values a configuration may hold only within limits the run depends on: integers SQLite can
store, listen addresses a socket can bind, and full paths for the files the daemon reads and
writes (the service starts in /, a command wherever it is typed: a relative path would name
two files). Part of edge.settings.config."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def integer_problems(value: object, key: str = "") -> list[str]:
    """Every integer anywhere in `value` (parsed TOML) that SQLite's 64-bit integers cannot
    hold, each named by its key."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        if INT64_MIN <= value <= INT64_MAX:
            return []
        return [
            f"{key or '(top level)'}: {value} does not fit a 64-bit integer (the ledger's "
            f"limit: {INT64_MIN} to {INT64_MAX})"
        ]
    if isinstance(value, dict):
        return [
            problem
            for name, item in value.items()
            for problem in integer_problems(item, f"{key}.{name}" if key else str(name))
        ]
    if isinstance(value, list):
        return [
            problem
            for i, item in enumerate(value)
            for problem in integer_problems(item, f"{key}[{i}]")
        ]
    return []


def host_problem(host: str) -> str | None:
    """What is wrong with a host as written in an address (a name, an IPv4 address, or an
    IPv6 address, bracketed or not), or None."""
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if ":" in bare:
        try:
            ipaddress.IPv6Address(bare)
        except ValueError:
            return f"{host} is not an IPv6 address"
        return None
    if host and all(c.isdigit() or c == "." for c in host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return f"{host} is not an IPv4 address (four numbers 0-255)"
        return None
    labels = host.removesuffix(".").split(".")
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        return f"{host!r} is not a host name or address"
    return None


def bare_host_problem(host: str, port_key: str = "port") -> str | None:
    """What is wrong with `host` where the address alone is wanted (a device's host, its port
    a key of its own, `port_key`), with what to write instead, or None. A URL, a port after
    the address or brackets around an IPv6 address would be dialled as written."""
    scheme, sep, rest = host.partition("://")
    rest = rest.split("/", 1)[0] if sep else host
    port = ""
    if rest.startswith("[") and "]" in rest:
        rest, _, after = rest[1:].partition("]")
        port = after.removeprefix(":")
    elif rest.count(":") == 1:
        rest, _, port = rest.partition(":")
    if rest == host:
        return host_problem(host)
    if not rest or host_problem(rest) is not None:
        return host_problem(rest) or f"{host!r} is not a host name or address"
    holds = f"is a URL ({scheme}://)" if sep else ("holds a port" if port else "is in brackets")
    write = f'host = "{rest}"'
    if port.isdigit():
        write += f" and {port_key} = {int(port)}"
    apart = f" ({port_key} is a key of its own)" if sep or port else ""
    return f"{host!r} {holds}; host is the address alone{apart}: write {write}"


def listen_problem(value: str) -> str | None:
    """What is wrong with a `host:port` to listen on ("" is off), or None."""
    if not value:
        return None
    host, colon, port = value.rpartition(":")
    if not colon or not host:
        return f"must be host:port (got {value!r})"
    if ":" in host and not host.startswith("["):
        return f"{value!r}: an IPv6 address needs brackets, e.g. [{host}]:{port}"
    problem = host_problem(host)
    if problem is not None:
        return problem
    if not port.isdigit() or int(port) > 65535:
        return f"port {port!r} is not a port number (1 to 65535; 0 picks a free one)"
    return None


def _full_path(folder: str, example: str) -> AfterValidator:
    """Refuses a relative path, showing the file's name in `folder` (or `example`) instead."""

    def full(path: Path) -> Path:
        if not path.is_absolute():
            raise ValueError(
                f"give the full path, e.g. {folder}/{path.name or example}: a relative path "
                "names one file for the service (which starts in /) and another for a command "
                "typed elsewhere; it is not read from the configuration file's folder either"
            )
        return path

    return AfterValidator(full)


# Files the daemon keeps (the ledger) and files set up beside the configuration (passwords,
# certificates, the page's accounts).
FullPath = Annotated[Path, _full_path("/var/lib/rxedge", "ledger.sqlite")]
SettingsFilePath = Annotated[Path, _full_path("/etc/rxedge", "FILE")]
