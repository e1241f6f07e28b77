"""The broker options of the command-line tools that speak to a broker as the centre does
(`rxedge pick`, `locate`, `procurement watch`, `procurement status`, ...): which CA to check
the broker against, and whose account to use.

From the gateway's configuration (`--config`) a tool takes the broker's URL and its CA file
(whom to trust), never the gateway's own account: a person or service uses an account of its own
(`--username`, `--password-file`, `--cert-file`), and with the ACL in
config/mosquitto-acl.example a gateway's account could not send commands anyway.
"""

from __future__ import annotations

import argparse
import math
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from sync.broker_url import PROTOCOLS, BrokerRotation, parse_broker_list

if TYPE_CHECKING:
    from edge.settings.broker import BrokerConfig
    from sync.broker_security import BrokerLink
    from sync.mqtt_session import MessageHandler, MqttSession


def add_protocol_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """--mqtt-protocol."""
    parser.add_argument(
        "--mqtt-protocol",
        choices=PROTOCOLS,
        help="MQTT version the broker speaks (default: the config's broker.protocol, else 5)",
    )


def add_broker_options(parser: argparse.ArgumentParser) -> None:
    """--mqtt-protocol, --ca-file, --cert-file, --key-file, --username, --password-file,
    --allow-insecure."""
    add_protocol_option(parser)
    group = parser.add_argument_group("broker security")
    group.add_argument(
        "--ca-file",
        type=Path,
        metavar="PEM",
        help="CA the broker's certificate must chain to (mqtts://; default: the config's "
        "ca_file, else the system's CAs)",
    )
    group.add_argument("--cert-file", type=Path, metavar="PEM", help="client certificate")
    group.add_argument(
        "--key-file", type=Path, metavar="PEM", help="its private key (if not in --cert-file)"
    )
    group.add_argument("--username", help="your broker account, e.g. procurement")
    group.add_argument(
        "--password-file",
        type=Path,
        metavar="FILE",
        help="the password alone on the first line; readable by you only (chmod 600)",
    )
    group.add_argument(
        "--allow-insecure",
        action="store_true",
        help="accept a plain-text mqtt:// broker that is not on this machine",
    )


def broker_link(
    args: argparse.Namespace, url: str, config: BrokerConfig | None = None
) -> BrokerLink:
    """The broker at `url` (or the brokers, comma-separated, tried in order) with the options
    in `args` (the CA file and the protocol falling back to `config`'s); a message and exit
    status 2 when they cannot work."""
    # paho loads with these, here: only the commands that speak to a broker pay for it.
    from sync.broker_security import (
        BrokerLink,
        BrokerSecurity,
        password_file_problem,
        pem_file_problem,
        plain_text_problem,
        read_password_file,
    )

    try:
        addresses = parse_broker_list(url)
        BrokerRotation(addresses)
    except ValueError as exc:
        _refuse(str(exc))
    address = addresses[0]
    from_config = config is not None and config.urls_text == url
    insecure = args.allow_insecure or (from_config and config is not None and config.allow_insecure)
    for each in addresses:
        problem = plain_text_problem(each)
        if problem is not None and not insecure:
            _refuse(f"{problem}; use mqtts:// (TLS), or --allow-insecure to accept that")
    ca_file = args.ca_file
    if ca_file is None and config is not None and address.tls:
        ca_file = config.ca_file
    for option, path, private in (
        ("--ca-file", ca_file, False),
        ("--cert-file", args.cert_file, False),
        ("--key-file", args.key_file, True),
    ):
        if path is not None and (found := pem_file_problem(path, private)) is not None:
            _refuse(f"{option}: {found}")
    password = None
    if args.password_file is not None:
        if (found := password_file_problem(args.password_file)) is not None:
            _refuse(f"--password-file: {found}")
        password = read_password_file(args.password_file)
    security = BrokerSecurity(ca_file, args.cert_file, args.key_file, args.username, password)
    if (found := security.problem_with(address)) is not None:
        _refuse(found)
    protocol = args.mqtt_protocol or (config.protocol if config is not None else "5")
    return BrokerLink(address, security, protocol, tuple(addresses[1:]))


def own_client_id(tool: str) -> str:
    """A client id of this process's own, e.g. rxedge-watch-desk7-4211."""
    return f"rxedge-{tool}-{socket.gethostname()}-{os.getpid()}"


def command_session(
    link: BrokerLink, subscriptions: Sequence[str], on_message: MessageHandler
) -> MqttSession:
    """The session of one command: a client id of its own, nothing kept at the broker after."""
    from sync.mqtt_session import MqttSession  # paho loads only for the commands that use it

    return MqttSession(
        link.addresses,
        own_client_id("cli"),
        subscriptions=subscriptions,
        on_message=on_message,
        persistent=False,
        security=link.security,
        protocol=link.protocol,
    )


def _refuse(problem: str) -> NoReturn:
    print(f"rxedge: {problem}", file=sys.stderr)
    raise SystemExit(2)


def wait_seconds(text: str) -> float:
    """The argparse type of `--wait`: how long to wait for the gateway's answer, a finite
    number of seconds above 0 (no wait at all would report every answer as not come)."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of seconds above 0, e.g. 10 (how long the gateway's "
            "answer is waited for)"
        )
    return seconds
