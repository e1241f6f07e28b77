"""JSON from the network, read only within limits checked before the parser sees it.

Python's parser recurses once per nested array or object (30,000 levels raise RecursionError),
turns a number of more than 4,300 digits into a ValueError of its own, and accepts NaN and
Infinity, which are not JSON. `read_json` refuses all of these with the reason in words, so
whoever answers the sender can say what was wrong.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["MAX_DEPTH", "MAX_NUMBER_DIGITS", "PayloadError", "read_json"]

MAX_DEPTH = 32  # arrays and objects inside each other; the deepest message uses 3
MAX_NUMBER_DIGITS = 100  # digits in one number literal (with its fraction and exponent)

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")
_LONG_NUMBER = re.compile(rf"[-+0-9.eE]{{{MAX_NUMBER_DIGITS + 1},}}")


class PayloadError(ValueError):
    """A payload that is not read; the message says why."""


def read_json(payload: bytes | str, max_bytes: int | None = None) -> Any:
    """The JSON value in `payload`, or `PayloadError` naming the limit it breaks: more than
    `max_bytes` bytes, not UTF-8, nested deeper than MAX_DEPTH, a number longer than
    MAX_NUMBER_DIGITS, NaN or Infinity, or not JSON at all."""
    size = len(payload.encode() if isinstance(payload, str) else payload)
    if max_bytes is not None and size > max_bytes:
        raise PayloadError(f"payload of {size} bytes; at most {max_bytes}")
    try:
        text = payload.decode() if isinstance(payload, bytes) else payload
    except UnicodeDecodeError as exc:
        raise PayloadError(f"payload is not UTF-8 text: {exc}") from None
    # Outside strings only: a string may hold any number of brackets and digits.
    bare = _STRING.sub('""', text) if '"' in text else text
    depth = _depth(bare)
    if depth > MAX_DEPTH:
        raise PayloadError(f"payload nests {depth} levels deep; at most {MAX_DEPTH}")
    if (number := _LONG_NUMBER.search(bare)) is not None:
        raise PayloadError(
            f"payload has a number of {len(number.group())} characters; at most {MAX_NUMBER_DIGITS}"
        )
    try:
        return json.loads(text, parse_constant=_not_json)
    except json.JSONDecodeError as exc:
        raise PayloadError(f"payload is not JSON: {exc}") from None
    except ValueError as exc:  # NaN or Infinity, refused by _not_json
        raise PayloadError(f"payload is not JSON: {exc}") from None


def _depth(text: str) -> int:
    """The deepest nesting of brackets in `text` (strings already taken out); 0 when it has
    too few openings to go beyond MAX_DEPTH."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return 0  # cannot nest deeper than it has openings
    deepest = level = 0
    for bracket in _BRACKET.findall(text):
        level += 1 if bracket in "[{" else -1
        deepest = max(deepest, level)
    return deepest


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")
