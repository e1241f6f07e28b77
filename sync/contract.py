"""The MQTT contract: every topic below ``rxedge/v1/{site}/{gateway}/``, who sends on it, and the
JSON Schema of every message (``sync/schemas/{message}.json``, shipped with the package and
referenced by ``docs/asyncapi.yaml``).

`validate` checks one payload against its message's schema and says what is wrong in words
("lines[0].gtin: ..."); `check_topic` does the same for a whole topic, after finding which
message it carries. The schemas are loaded and compiled once, on first use.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any, TypeGuard

from jsonschema import Draft7Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from inventory.codes.gtin import gtin_problem
from sync.inbound_json import PayloadError, read_json
from sync.schema_problems import problems
from sync.topics import ROOT

GATEWAY, CENTRE = "gateway", "centre"
# The commands the centre may send on cmd/{name}, in the order they are documented.
COMMAND_NAMES = (
    "pick",
    "pick-cancel",
    "locate",
    "recall",
    "write-off",
    "stocktake-start",
    "stocktake-end",
    "stocktake-confirm",
    "alarm-ack",
    "procurement-confirm",
    "putaway",
    "putaway-end",
)
MAX_PAYLOAD = 64 * 1024  # what the gateway accepts from the centre, in bytes


@dataclass(frozen=True, slots=True)
class Channel:
    """A topic below the gateway's prefix, with {parameters} for variable levels."""

    address: str
    sender: str  # GATEWAY or CENTRE
    retained: bool
    messages: tuple[str, ...]  # a second message tells an empty payload apart (alarm cleared)

    @property
    def action(self) -> str:
        """The gateway's part, as AsyncAPI names it: it sends or it receives."""
        return "send" if self.sender == GATEWAY else "receive"


CHANNELS: tuple[Channel, ...] = (
    Channel("status", GATEWAY, True, ("status",)),
    Channel("procurement/request", GATEWAY, False, ("procurement-request",)),
    Channel("alarms/{alarm_id}", GATEWAY, True, ("alarm", "alarm-cleared")),
    Channel("cmd-result", GATEWAY, False, ("cmd-result",)),
    Channel("events", GATEWAY, False, ("epcis-event",)),
    Channel("lights/{shelf}", GATEWAY, True, ("lights",)),
    *(Channel(f"cmd/{name}", CENTRE, False, (f"cmd-{name}",)) for name in COMMAND_NAMES),
    Channel("procurement/status", CENTRE, False, ("procurement-status",)),
)
# How each message is written; every other message is application/json.
CONTENT_TYPES: Mapping[str, str] = {
    "status": "text/plain",
    "alarm-cleared": "text/plain",
    "epcis-event": "application/ld+json",
}
MESSAGES: tuple[str, ...] = tuple(m for channel in CHANNELS for m in channel.messages)
_SHARED = "common.json"  # definitions the message schemas refer to

Payload = bytes | str | Mapping[str, Any] | list[Any]


def content_type(message: str) -> str:
    """The MIME type a message is written in."""
    return CONTENT_TYPES.get(message, "application/json")


def schema_file(message: str) -> Traversable:
    """Where the schema of `message` is (inside the installed package)."""
    return _schemas_dir() / f"{message}.json"


def schema(message: str) -> dict[str, Any]:
    """The JSON Schema of `message` as loaded (do not change it)."""
    return _loaded()[message]


def validate(message: str, payload: Payload) -> list[str]:
    """What is wrong with `payload` as a `message`, in words; empty when it conforms.

    bytes and str are the payload as sent (JSON text, or plain text for a text message);
    anything else is taken as the JSON value already decoded."""
    validator = _validators().get(message)
    if validator is None:
        raise ValueError(f"no message {message!r} in the contract; known: {', '.join(MESSAGES)}")
    instance: Any = payload
    if isinstance(payload, bytes | str):
        try:
            text = payload.decode() if isinstance(payload, bytes) else payload
        except UnicodeDecodeError as exc:
            return [f"payload is not UTF-8 text: {exc}"]
        instance = text
        if not content_type(message).startswith("text/"):
            try:
                instance = read_json(text)
            except PayloadError as exc:
                return [str(exc)]
    return problems(validator.iter_errors(instance))


def is_id(value: object) -> TypeGuard[str]:
    """Whether `value` is an identifier as a sender writes one (common.json `id`)."""
    return isinstance(value, str) and _id_pattern().fullmatch(value) is not None


def with_defaults(message: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """`body` (valid) with the defaults its schema writes for absent fields, at any depth the
    schema spells out inline (defaults behind a $ref are not looked up)."""
    filled = _fill(schema(message), body)
    assert isinstance(filled, dict)
    return filled


def channel_of(topic: str) -> tuple[Channel, dict[str, str]] | None:
    """The channel a topic belongs to, and the values of its parameters (site and gateway too,
    for a whole topic). `topic` is whole (rxedge/v1/...) or the part below the prefix."""
    params: dict[str, str] = {}
    levels = topic.split("/")
    if topic.startswith(f"{ROOT}/"):
        if len(levels) < 5:
            return None
        params = {"site": levels[2], "gateway": levels[3]}
        levels = levels[4:]
    for channel in CHANNELS:
        pattern = channel.address.split("/")
        if len(pattern) != len(levels):
            continue
        found = dict(params)
        for want, level in zip(pattern, levels, strict=True):
            if want.startswith("{") and want.endswith("}") and level:
                found[want[1:-1]] = level
            elif want != level:
                break
        else:
            return channel, found
    return None


def message_of(channel: Channel, payload: bytes | str) -> str:
    """The message a payload on `channel` is: an empty one is the channel's text message."""
    if len(channel.messages) > 1 and not payload:
        return next(m for m in channel.messages if content_type(m).startswith("text/"))
    return channel.messages[0]


def check_topic(topic: str, payload: bytes | str) -> list[str]:
    """What is wrong with `payload` on `topic`: an unknown topic, a payload that does not
    conform to its message, or a field that disagrees with the topic level of the same name
    (alarm_id, site, gateway)."""
    found = channel_of(topic)
    if found is None:
        return ["no such topic in the contract"]
    channel, params = found
    message = message_of(channel, payload)
    said = validate(message, payload)
    if not said and not content_type(message).startswith("text/"):
        body = read_json(payload)
        said = [
            f"{name}: {body[name]!r} but the topic says {value!r}"
            for name, value in params.items()
            if isinstance(body, dict) and name in body and body[name] != value
        ]
    return said


def _fill(part: Mapping[str, Any], value: Any) -> Any:
    if isinstance(value, Mapping) and isinstance(part.get("properties"), Mapping):
        out = dict(value)
        for name, sub in part["properties"].items():
            if not isinstance(sub, Mapping):
                continue
            if name not in out and "default" in sub:
                out[name] = copy.deepcopy(sub["default"])
            elif name in out:
                out[name] = _fill(sub, out[name])
        return out
    if isinstance(value, list) and isinstance(part.get("items"), Mapping):
        return [_fill(part["items"], item) for item in value]
    return value


def _schemas_dir() -> Traversable:
    return files("sync") / "schemas"


@cache
def _loaded() -> dict[str, dict[str, Any]]:
    names = [*MESSAGES, _SHARED.removesuffix(".json")]
    return {name: json.loads(schema_file(name).read_text(encoding="utf-8")) for name in names}


@cache
def _id_pattern() -> re.Pattern[str]:
    return re.compile(schema(_SHARED.removesuffix(".json"))["definitions"]["id"]["pattern"])


@cache
def _validators() -> dict[str, Draft7Validator]:
    loaded = _loaded()
    registry: Registry[Any] = Registry().with_resources(
        (f"{name}.json", Resource.from_contents(body, default_specification=DRAFT7))
        for name, body in loaded.items()
    )
    checker = _format_checker()
    return {
        name: Draft7Validator(loaded[name], registry=registry, format_checker=checker)
        for name in MESSAGES
    }


_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)", re.ASCII)
_DATE = re.compile(r"\d{4}-\d\d-\d\d", re.ASCII)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")  # what common.json's text_line refuses
_UUID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


def _format_checker() -> FormatChecker:
    """The formats the schemas use, checked without optional packages; `gtin` and
    `text-line` are rxedge's own (a check digit cannot be written as a schema; a pattern says
    only that a text does not match it, not which character is wrong)."""
    checker = FormatChecker(formats=())

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if not _DATE_TIME.fullmatch(value):
            raise ValueError(f"{value!r} is not an RFC 3339 date-time with an offset")
        try:
            moment = datetime.fromisoformat(value.upper())
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a real date-time ({exc})") from None
        try:  # kept in UTC: a time at the calendar's very end or start has none
            moment.astimezone(UTC)
        except OverflowError:
            raise ValueError(f"{value!r} is beyond the dates a clock can keep in UTC") from None
        return True

    @checker.checks("date", raises=ValueError)
    def _date(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if not _DATE.fullmatch(value):
            raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)")
        try:
            date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a real date ({exc})") from None
        return True

    @checker.checks("uuid", raises=ValueError)
    def _uuid(value: object) -> bool:
        if isinstance(value, str) and not _UUID.fullmatch(value):
            raise ValueError(f"{value!r} is not a UUID (8-4-4-4-12 hex digits)")
        return True

    @checker.checks("text-line", raises=ValueError)
    def _text_line(value: object) -> bool:
        if isinstance(value, str) and (found := _CONTROL.search(value)) is not None:
            raise ValueError(
                f"{found.group()!r} at character {found.start() + 1} is a control character: "
                "write it on one line, without line breaks, tabs or escape sequences"
            )
        return True

    @checker.checks("gtin", raises=ValueError)
    def _gtin(value: object) -> bool:
        if isinstance(value, str) and (problem := gtin_problem(value)) is not None:
            raise ValueError(problem)
        return True

    return checker
