"""The gateway's configuration file (TOML), validated with every error naming its key.

Slots are named ``{shelf}-{NN}``: shelf controller "A" with 24 slots has A-01 .. A-24, and
A-01 is the controller's slot 0 (coil 1 in profile rxedge-ptl-v1).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from drivers.modbus.profile import PROFILES
from edge.errors import ConfigError
from edge.settings.badges import BadgesConfig, PharmacistConfig, badge_reader_problems
from edge.settings.broker import BrokerConfig
from edge.settings.device_names import device_name_problems
from edge.settings.examples import EXAMPLES, describe_error
from edge.settings.limits import FullPath, bare_host_problem, integer_problems
from edge.settings.repeated_entries import BADGE_ONCE, PRODUCT_ONCE, repeated_problems
from edge.settings.sections import (
    AlarmsConfig,
    CommandsConfig,
    DevicesConfig,
    MetricsConfig,
    PickingConfig,
    ProcurementConfig,
    StocktakeConfig,
    Strict,
)
from edge.settings.serial_framing import SerialFraming, SerialPortName
from edge.settings.service_user import unreadable_problem
from edge.settings.shared_lines import shared_line_problems
from edge.settings.web import WebConfig
from inventory.codes.gtin import normalize_gtin
from inventory.codes.identifiers import gln_problem
from inventory.replenishment.policy import Product
from inventory.site_calendar import zone_problem

__all__ = [
    "EXAMPLES",
    "AlarmsConfig",
    "BrokerConfig",
    "CommandsConfig",
    "ConfigError",
    "DevicesConfig",
    "GatewayConfig",
    "MetricsConfig",
    "PickingConfig",
    "ShelfConfig",
    "StocktakeConfig",
    "load_config",
    "parse_config",
    "slot_name",
]

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class PresenceConfig(Strict):
    dwell_seconds: Annotated[float, Field(gt=0, le=3600)] = 5.0


Baudrate = Literal[9600, 19200, 38400, 57600, 115200]
# What each reader family ships with.
DEFAULT_BAUDRATE = {"r2000": 115200, "chafon": 57600}
DEFAULT_ADDRESS = {"r2000": 0x01, "chafon": 0xFF}


class ReaderConfig(SerialFraming):
    name: Annotated[str, Field(pattern=_NAME)]
    protocol: Literal["r2000", "chafon"] = "r2000"
    # fixed: antennas watch slots; handheld: a reader carried to the pack (confirms picks).
    role: Literal["fixed", "handheld"] = "fixed"
    port: SerialPortName
    baudrate: Baudrate | None = None
    address: Annotated[int, Field(ge=0, le=255)] | None = None
    antennas: dict[int, str] = Field(default_factory=dict)
    output_power_dbm: Annotated[int, Field(ge=0, le=33)] | None = None

    @field_validator("antennas")
    @classmethod
    def _antennas(cls, value: dict[int, str]) -> dict[int, str]:
        for antenna in value:
            if not 1 <= antenna <= 8:
                raise ValueError(f"antenna {antenna} does not exist; readers have antennas 1 to 8")
        return value

    @model_validator(mode="after")
    def _protocol_options(self) -> ReaderConfig:
        if self.protocol == "chafon" and self.output_power_dbm is not None:
            raise ValueError("output_power_dbm applies to r2000 readers only; remove it")
        if self.protocol == "chafon" and set(self.antennas) - {1}:
            raise ValueError('a chafon reader has one antenna: use antennas = { 1 = "A-01" }')
        return self

    @property
    def line_speed(self) -> int:
        return self.baudrate or DEFAULT_BAUDRATE[self.protocol]

    @property
    def bus_address(self) -> int:
        return DEFAULT_ADDRESS[self.protocol] if self.address is None else self.address

    @property
    def antenna_numbers(self) -> list[int]:
        """The antennas the reader reads: those given slots, else its first."""
        return sorted(self.antennas) or [1]


class ScannerConfig(SerialFraming):
    name: Annotated[str, Field(pattern=_NAME)]
    port: SerialPortName
    baudrate: Baudrate = 9600
    # picking: confirms picks; receiving: books into receive_to; putaway: lights the pack's slot
    role: Literal["picking", "receiving", "putaway"] = "picking"
    receive_to: str | None = None
    # A scan ends at CR or LF, or after this many milliseconds without a byte (no suffix).
    quiet_ms: Annotated[int, Field(ge=10, le=2000)] = 80
    # The PC/SC name of the badge reader at this scanner's desk: what it books names who is
    # badged in there. Left out: the one person badged in anywhere (with several, nobody).
    badge_reader: Annotated[str, Field(min_length=1)] | None = None

    def station_problem(self, example: str) -> str | None:
        """What the scanner lacks for its role (a slot for a receiving or putaway desk), with
        `example` (a configured slot) as the slot to write, or None."""
        if self.role == "receiving" and not self.receive_to:
            return f'a receiving scanner needs receive_to, e.g. receive_to = "{example}"'
        if self.role == "putaway" and not self.receive_to:
            return (
                "a putaway scanner needs receive_to, the station's slot that turns red when a "
                f'pack is refused, e.g. receive_to = "{example}"'
            )
        return None


class ShelfConfig(SerialFraming):
    name: Annotated[str, Field(pattern=_NAME)]
    transport: Literal["tcp", "rtu"] = "tcp"
    host: str | None = None
    port: Annotated[int, Field(ge=1, le=65535)] = 502
    serial_port: SerialPortName | None = None
    baudrate: Baudrate = 19200
    device_id: Annotated[int, Field(ge=1, le=247)] = 1
    profile: str = "rxedge-ptl-v1"
    slots: Annotated[int, Field(ge=1, le=999)] = 24
    poll_hz: Annotated[float, Field(gt=0, le=50)] = 10.0
    # The GLN of the shelf's location tags (SGLN): slot i's tag has extension i (A-07: 7).
    gln: Annotated[str, Field(pattern=r"^\d{13}$")] | None = None

    @field_validator("gln")
    @classmethod
    def _gln(cls, value: str | None) -> str | None:
        if value is not None and (problem := gln_problem(value)) is not None:
            raise ValueError(problem)
        return value

    @field_validator("host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        if value and (problem := bare_host_problem(value)) is not None:
            raise ValueError(problem)
        return value

    @field_validator("profile")
    @classmethod
    def _profile(cls, value: str) -> str:
        if value not in PROFILES:
            raise ValueError(f"unknown profile {value!r}; known: {', '.join(sorted(PROFILES))}")
        return value

    @model_validator(mode="after")
    def _transport(self) -> ShelfConfig:
        if self.transport == "tcp" and not self.host:
            raise ValueError('a tcp shelf needs host (and port), e.g. host = "10.0.0.20"')
        if self.transport == "rtu" and not self.serial_port:
            raise ValueError('an rtu shelf needs serial_port, e.g. serial_port = "/dev/ttyUSB1"')
        if self.transport == "tcp" and (problem := self.framing_unused("rtu shelves")):
            raise ValueError(problem)
        return self

    def slot_names(self) -> list[str]:
        return [slot_name(self.name, i) for i in range(self.slots)]


class ProductConfig(Strict):
    gtin: Annotated[str, Field(pattern=r"^(\d{8}|\d{12,14})$")]
    name: Annotated[str, Field(min_length=1)]
    reorder_point: Annotated[int, Field(ge=0)]
    par: Annotated[int, Field(ge=1)]
    unit: str = "pack"
    slots: list[str] = Field(default_factory=list)
    auto_confirm: bool = True
    # A scanned pack without a serial (AI 21) is refused: serialized packs are the rule.
    require_serial: bool = True
    # Its codes carry a batch (AI 10) and an expiry (AI 17), as a medicine's do: a delivered
    # pack whose code lacks either is refused at goods-in, and a code without GS whose last
    # field hides the one it lacks ran together (inventory.codes.run_together).
    batch_and_expiry: bool = True
    min_shelf_life_days: Annotated[int, Field(ge=0, le=3650)] = 0
    slot_capacity: Annotated[int, Field(ge=1, le=65535)] | None = None

    @field_validator("gtin")
    @classmethod
    def _as_gtin14(cls, value: str) -> str:
        return normalize_gtin(value)

    def policy(self) -> Product:
        """The product as the inventory knows it."""
        return Product(
            self.gtin,
            self.name,
            self.reorder_point,
            self.par,
            self.unit,
            self.auto_confirm,
            tuple(self.slots),
            self.require_serial,
            self.min_shelf_life_days,
            self.slot_capacity,
            self.batch_and_expiry,
        )

    @model_validator(mode="after")
    def _par(self) -> ProductConfig:
        if self.par <= self.reorder_point:
            raise ValueError(
                f"par ({self.par}) must be above reorder_point ({self.reorder_point}), "
                "or no request would ever be made"
            )
        return self


class GatewayConfig(Strict):
    site: Annotated[str, Field(pattern=_NAME)]
    gateway: Annotated[str, Field(pattern=_NAME)]
    # The site's IANA time zone: the dates people judge (expiry, counts, the nightly sweep).
    # "" = the machine's own zone.
    timezone: str = ""
    database: FullPath = Path("/var/lib/rxedge/ledger.sqlite")
    # A missing ledger file is refused unless this is set (or `rxedge run --init`).
    create_database: bool = False
    broker: BrokerConfig = BrokerConfig()
    presence: PresenceConfig = PresenceConfig()
    devices: DevicesConfig = DevicesConfig()
    picking: PickingConfig = PickingConfig()
    stocktake: StocktakeConfig = StocktakeConfig()
    commands: CommandsConfig = CommandsConfig()
    alarms: AlarmsConfig = AlarmsConfig()
    procurement: ProcurementConfig = ProcurementConfig()
    metrics: MetricsConfig = MetricsConfig()
    web: WebConfig = WebConfig()
    readers: list[ReaderConfig] = Field(default_factory=list)
    scanners: list[ScannerConfig] = Field(default_factory=list)
    badges: BadgesConfig = BadgesConfig()
    pharmacists: list[PharmacistConfig] = Field(default_factory=list)
    shelves: list[ShelfConfig] = Field(default_factory=list)
    products: list[ProductConfig] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if value and (problem := zone_problem(value)) is not None:
            raise ValueError(problem)
        return value

    @property
    def client_id(self) -> str:
        return self.broker.client_id or f"rxedge-{self.site}-{self.gateway}"


def slot_name(shelf: str, index: int) -> str:
    """The name of slot `index` (0-based) of `shelf`: A-01 for index 0."""
    return f"{shelf}-{index + 1:02d}"


def load_config(path: Path | str) -> GatewayConfig:
    """Read and validate a configuration file."""
    path = Path(path)
    try:
        # utf-8-sig: the byte order mark some Windows editors put first is not TOML.
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ConfigError(
            str(path), ["file not found; start from config/gateway.example.toml"]
        ) from None
    except IsADirectoryError:
        raise ConfigError(str(path), ["is a directory; give the TOML file in it"]) from None
    except PermissionError:
        raise ConfigError(str(path), [unreadable_problem(path)]) from None
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot be read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            str(path),
            [
                f"is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
                "save it as UTF-8"
            ],
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), [f"not valid TOML: {exc}"]) from None
    return parse_config(data, str(path))


def parse_config(data: dict[str, object], source: str = "config") -> GatewayConfig:
    """Validate already-parsed configuration data."""
    too_big = integer_problems(data)
    try:
        config = GatewayConfig.model_validate(data)
    except ValidationError as exc:
        said = {problem.partition(":")[0] for problem in too_big}
        others = [describe_error(error, GatewayConfig) for error in exc.errors()]
        raise ConfigError(
            source, too_big + [p for p in others if p.partition(":")[0] not in said]
        ) from None
    if too_big:
        raise ConfigError(source, too_big)
    problems = _cross_reference_problems(config)
    if problems:
        raise ConfigError(source, problems)
    return config


def _cross_reference_problems(config: GatewayConfig) -> list[str]:
    """Names that must match across sections: unique names, slots that exist."""
    problems: list[str] = []
    known = {slot for shelf in config.shelves for slot in shelf.slot_names()}
    examples = ", ".join(sorted(known)[:3]) or "none: add a [[shelves]] entry"
    devices = (("readers", config.readers), ("scanners", config.scanners))
    problems += device_name_problems((*devices, ("shelves", config.shelves)), config.badges.enabled)
    problems += badge_reader_problems(config.scanners, config.badges)
    problems += repeated_problems(
        "pharmacists", "badge", [p.uid for p in config.pharmacists], BADGE_ONCE
    )
    problems += repeated_problems(
        "products", "gtin", [p.gtin for p in config.products], PRODUCT_ONCE
    )
    for i, reader in enumerate(config.readers):
        for antenna, slot in reader.antennas.items():
            if slot not in known:
                problems.append(
                    f"readers[{i}].antennas.{antenna}: slot {slot!r} is not on any shelf "
                    f"(known slots: {examples}, ...)"
                )
    if any(r.role == "handheld" for r in config.readers):
        for i, shelf in enumerate(config.shelves):
            if not shelf.gln:
                problems.append(
                    f"shelves[{i}].gln: shelf {shelf.name!r} takes part in stocktakes (a handheld "
                    "reader is configured), so it needs the GLN of its location tags: its EPCIS "
                    'events name the slots by it, e.g. gln = "4012345000016"'
                )
    problems += shared_line_problems(config.readers, config.scanners, config.shelves)
    glns = [s.gln for s in config.shelves if s.gln]
    for gln in sorted({g for g in glns if glns.count(g) > 1}):
        problems.append(f"shelves: gln {gln!r} is on more than one shelf; each needs its own")
    for i, shelf in enumerate(config.shelves):
        most = PROFILES[shelf.profile].max_slots
        if shelf.slots > most:
            problems.append(
                f"shelves[{i}].slots: profile {shelf.profile!r} drives {most} slot(s) per "
                f"controller; give each light its own [[shelves]] entry (device_id) or use "
                f"slots = {most}"
            )
    for i, reader in enumerate(config.readers):
        if reader.role == "handheld" and reader.antennas:
            problems.append(
                f"readers[{i}].antennas: a handheld watches no slot; remove its antennas "
                '(or use role = "fixed")'
            )
    for i, scanner in enumerate(config.scanners):
        if (lacks := scanner.station_problem(min(known, default="R-01"))) is not None:
            problems.append(f"scanners[{i}]: {lacks}")
        if scanner.receive_to and scanner.receive_to not in known:
            problems.append(
                f"scanners[{i}].receive_to: slot {scanner.receive_to!r} is not on any shelf "
                f"(known slots: {examples}, ...)"
            )
    for i, product in enumerate(config.products):
        for slot in product.slots:
            if slot not in known:
                problems.append(
                    f"products[{i}].slots: slot {slot!r} is not on any shelf "
                    f"(known slots: {examples}, ...)"
                )
    return problems
