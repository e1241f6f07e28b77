"""JSON Schema validation errors in words for a person: ``lines[0].gtin: why``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from jsonschema import ValidationError
from jsonschema.exceptions import best_match

_JSON_TYPES = {
    "object": "an object",
    "array": "an array",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def where(path: Iterable[str | int]) -> str:
    """A path into a payload as ``lines[0].gtin``; the root is ``payload``."""
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    return text.removeprefix(".") or "payload"


def problems(errors: Iterable[ValidationError]) -> list[str]:
    """Every error in words, in payload order, without repeats.

    A format check that says why (a GTIN's check digit) replaces a pattern error at the same
    place, which would only say "does not match"."""
    found = sorted(errors, key=lambda e: (_order(e.absolute_path), str(e.validator)))
    explained = {
        tuple(e.absolute_path) for e in found if e.validator == "format" and e.cause is not None
    }
    said: list[str] = []
    for error in found:
        if error.validator == "pattern" and tuple(error.absolute_path) in explained:
            continue
        for line in describe(error):
            if line not in said:
                said.append(line)
    return said


def _order(path: Iterable[str | int]) -> list[tuple[int, str]]:
    """Sorts lines[2] before lines[10]."""
    return [(p, "") if isinstance(p, int) else (-1, p) for p in path]


def describe(error: ValidationError) -> list[str]:
    """One error in words (several for several missing or unknown fields)."""
    path: list[str | int] = list(error.absolute_path)
    keyword, value = str(error.validator), error.instance
    expected: Any = error.validator_value
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    if keyword in ("anyOf", "oneOf") and error.context:
        return describe(best_match(error.context))
    if keyword == "required":
        names = [n for n in expected if isinstance(value, dict) and n not in value]
        return [f"{where([*path, n])}: missing (required)" for n in names]
    if keyword == "additionalProperties" and isinstance(value, dict):
        known = sorted(schema.get("properties", {}))
        allowed = f" (allowed: {', '.join(known)})" if known else ""
        extra = [k for k in value if k not in known and not _patterned(schema, k)]
        return [f"{where([*path, k])}: unknown field{allowed}" for k in extra]
    return [f"{where(path)}: {_reason(keyword, expected, value, error)}"]


def _patterned(schema: Mapping[str, Any], name: str) -> bool:
    return any(re.search(p, name) for p in schema.get("patternProperties", {}))


def _reason(keyword: str, expected: Any, value: Any, error: ValidationError) -> str:
    shown = _show(value)
    if keyword == "type":
        wanted = [expected] if isinstance(expected, str) else list(expected)
        names = " or ".join(_JSON_TYPES.get(t, t) for t in wanted)
        return f"must be {names}, not {_JSON_TYPES[_type_of(value)]}"
    if keyword == "enum":
        return f"{shown} is not one of {', '.join(_show(v) for v in expected)}"
    if keyword == "const":
        return f"must be {_show(expected)}, not {shown}"
    if keyword == "format":
        if error.cause is not None and str(error.cause):
            return str(error.cause)
        return f"{shown} is not a valid {expected}"
    if keyword == "pattern":
        return f"{shown} does not match {expected}"
    limits = {
        "minimum": "must be at least {}",
        "maximum": "must be at most {}",
        "exclusiveMinimum": "must be more than {}",
        "exclusiveMaximum": "must be less than {}",
        "minLength": "must be at least {} characters long",
        "maxLength": "must be at most {} characters long",
        "minItems": "must have at least {} items",
        "maxItems": "must have at most {} items",
    }
    if keyword in limits:
        got = f" ({len(value)})" if keyword.endswith(("Length", "Items")) else f" ({shown})"
        return limits[keyword].format(expected) + got
    if keyword == "contains":
        return f"must contain {_show(expected.get('const', expected))}"
    return error.message


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."
