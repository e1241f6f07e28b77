"""Which configuration file a command reads: `--config FILE`, else `$RXEDGE_CONFIG`, else
/etc/rxedge/gateway.toml (where the install guide puts it); and the configuration read."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edge.settings.config import GatewayConfig

CONFIG_ENV = "RXEDGE_CONFIG"
SYSTEM_CONFIG = Path("/etc/rxedge/gateway.toml")
DEFAULT_HELP = f"default: ${CONFIG_ENV}, else {SYSTEM_CONFIG}"


def add_config_option(parser: argparse.ArgumentParser, what: str) -> None:
    """--config FILE; `what` says what the command takes from it."""
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help=f"the gateway's TOML file: {what} ({DEFAULT_HELP})",
    )


def config_path(args: argparse.Namespace) -> Path:
    """The file `--config` names, else the default one."""
    given: Path | None = args.config
    if given is not None:
        return given
    from_environment = os.environ.get(CONFIG_ENV, "")
    return Path(from_environment) if from_environment else SYSTEM_CONFIG


def config_given(args: argparse.Namespace) -> bool:
    """True when a configuration was asked for (`--config` or `$RXEDGE_CONFIG`)."""
    return args.config is not None or bool(os.environ.get(CONFIG_ENV))


def read_config(args: argparse.Namespace) -> GatewayConfig:
    """The configuration in the file `config_path` names; ConfigError says what is wrong."""
    # Its models (pydantic) load here, by the commands that read a configuration alone.
    from edge.settings.config import load_config

    return load_config(config_path(args))
