"""Commands from the centre (``cmd/{name}``), checked before anything is done with them.

Every payload is validated in full; a bad one becomes a `BadCommand` with the reason in words,
which the daemon answers on ``cmd-result`` and never executes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from inventory.identifiers import gtin_problem
from inventory.picking import PickLine, PickRequest

_ID = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$"
MAX_PAYLOAD = 64 * 1024
# Where each command carries the id its answers are filed under, in the order looked for.
_ID_FIELDS = ("pick_id", "stocktake_id", "alarm_id", "request_id", "command_id", "shelf", "gtin")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Gtin(_Strict):
    gtin: str

    @field_validator("gtin")
    @classmethod
    def _gtin(cls, value: str) -> str:
        if (problem := gtin_problem(value)) is not None:
            raise ValueError(problem)
        return value


class _Line(_Gtin):
    quantity: Annotated[int, Field(ge=1, le=999)]
    batch: Annotated[str, Field(max_length=20)] = ""


class _Pick(_Strict):
    pick_id: Annotated[str, Field(pattern=_ID)]
    lines: Annotated[list[_Line], Field(min_length=1, max_length=100)]
    picker: Annotated[str, Field(max_length=80)] = ""
    scanner: Annotated[str, Field(max_length=80)] = ""


class _Cancel(_Strict):
    pick_id: Annotated[str, Field(pattern=_ID)]
    by: Annotated[str, Field(max_length=80)] = "centre"


class _Locate(_Gtin):
    seconds: Annotated[float, Field(gt=0, le=600)] | None = None
    command_id: Annotated[str, Field(pattern=_ID)] | None = None


class _StocktakeStart(_Strict):
    shelf: Annotated[str, Field(pattern=_ID)]
    by: Annotated[str, Field(max_length=80)] = ""


class _StocktakeEnd(_Strict):
    stocktake_id: Annotated[str, Field(pattern=_ID)] | None = None


class _StocktakeConfirm(_Strict):
    stocktake_id: Annotated[str, Field(pattern=_ID)]
    by: Annotated[str, Field(min_length=1, max_length=80)]


class _AlarmAck(_Strict):
    alarm_id: Annotated[str, Field(pattern=_ID)]
    by: Annotated[str, Field(min_length=1, max_length=80)]


class _ProcurementConfirm(_Strict):
    request_id: Annotated[str, Field(pattern=_ID)]
    by: Annotated[str, Field(min_length=1, max_length=80)]
    quantity: Annotated[int, Field(ge=1, le=100_000)] | None = None


class _Recall(_Gtin):
    batch: Annotated[str, Field(min_length=1, max_length=20)]
    note: Annotated[str, Field(max_length=200)] = ""
    by: Annotated[str, Field(max_length=80)] = "centre"


@dataclass(frozen=True, slots=True)
class PickCommand:
    request: PickRequest


@dataclass(frozen=True, slots=True)
class CancelCommand:
    pick_id: str
    by: str


@dataclass(frozen=True, slots=True)
class LocateCommand:
    gtin: str
    seconds: float | None
    command_id: str


@dataclass(frozen=True, slots=True)
class RecallCommand:
    gtin: str
    batch: str
    note: str
    by: str


@dataclass(frozen=True, slots=True)
class StocktakeStart:
    shelf: str
    by: str


@dataclass(frozen=True, slots=True)
class StocktakeEnd:
    stocktake_id: str | None


@dataclass(frozen=True, slots=True)
class StocktakeConfirm:
    stocktake_id: str
    by: str


@dataclass(frozen=True, slots=True)
class AlarmAck:
    alarm_id: str
    by: str


@dataclass(frozen=True, slots=True)
class ProcurementConfirm:
    request_id: str
    by: str
    quantity: int | None


@dataclass(frozen=True, slots=True)
class BadCommand:
    """A command that will not be carried out, and why."""

    command: str
    command_id: str
    error: str


Command = (
    PickCommand
    | CancelCommand
    | LocateCommand
    | RecallCommand
    | StocktakeStart
    | StocktakeEnd
    | StocktakeConfirm
    | AlarmAck
    | ProcurementConfirm
    | BadCommand
)
COMMANDS = (
    "pick",
    "pick-cancel",
    "locate",
    "recall",
    "stocktake-start",
    "stocktake-end",
    "stocktake-confirm",
    "alarm-ack",
    "procurement-confirm",
)


def parse_command(name: str, payload: bytes) -> Command:
    """The command `name` (the last topic level) with its JSON payload, or why it is refused."""
    if len(payload) > MAX_PAYLOAD:
        return BadCommand(name, "", f"payload of {len(payload)} bytes; at most {MAX_PAYLOAD}")
    try:
        raw = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return BadCommand(name, "", f"payload is not JSON: {exc}")
    if not isinstance(raw, dict):
        return BadCommand(name, "", "payload must be a JSON object")
    command_id = next((raw[k] for k in _ID_FIELDS if raw.get(k)), "")
    command_id = command_id if isinstance(command_id, str) else ""
    if name not in COMMANDS:
        return BadCommand(
            name, command_id, f"unknown command {name!r}; known: {', '.join(COMMANDS)}"
        )
    try:
        return _build(name, raw)
    except ValidationError as exc:
        return BadCommand(name, command_id, _explain(exc))


def _build(name: str, raw: dict[str, object]) -> Command:
    if name == "pick":
        pick = _Pick.model_validate(raw)
        lines = tuple(PickLine(line.gtin, line.quantity, line.batch) for line in pick.lines)
        return PickCommand(PickRequest(pick.pick_id, lines, pick.picker, pick.scanner))
    if name == "pick-cancel":
        cancel = _Cancel.model_validate(raw)
        return CancelCommand(cancel.pick_id, cancel.by)
    if name == "locate":
        locate = _Locate.model_validate(raw)
        return LocateCommand(locate.gtin, locate.seconds, locate.command_id or locate.gtin)
    if name == "recall":
        recall = _Recall.model_validate(raw)
        return RecallCommand(recall.gtin, recall.batch, recall.note, recall.by)
    if name == "stocktake-start":
        start = _StocktakeStart.model_validate(raw)
        return StocktakeStart(start.shelf, start.by)
    if name == "stocktake-end":
        return StocktakeEnd(_StocktakeEnd.model_validate(raw).stocktake_id)
    if name == "stocktake-confirm":
        confirm = _StocktakeConfirm.model_validate(raw)
        return StocktakeConfirm(confirm.stocktake_id, confirm.by)
    if name == "alarm-ack":
        ack = _AlarmAck.model_validate(raw)
        return AlarmAck(ack.alarm_id, ack.by)
    order = _ProcurementConfirm.model_validate(raw)
    return ProcurementConfirm(order.request_id, order.by, order.quantity)


def _explain(exc: ValidationError) -> str:
    """Pydantic's errors as "lines[0].gtin: why" for a person."""
    problems = []
    for error in exc.errors():
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
        where = where.removeprefix(".")
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{where or 'payload'}: {message}")
    return "; ".join(problems)
