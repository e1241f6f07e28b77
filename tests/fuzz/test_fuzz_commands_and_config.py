"""Fuzz targets for what arrives over the network and what an operator writes: the command path
(payloads and topic names from the centre, status answers) and the configuration loader.

Properties: a command is either built whole or refused with a reason, never an exception; a
refused one names what is wrong; a valid command mutated anywhere is still refused or built,
never half-built; the configuration loader raises only ConfigError, whose problems each name a
key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from edge.settings.config import ConfigError, load_config, parse_config
from inventory.changes import RequestAnswer
from sync.commands import COMMANDS, Received, Refuse, parse_received, with_envelope
from sync.status_updates import parse_status_update

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=25,
)
NAMES = st.sampled_from([*COMMANDS, "launch", "", "pick/../x", "PICK"])
GOOD = {
    "pick": {"pick_id": "rx-1", "lines": [{"gtin": "04012345123456", "quantity": 2}]},
    "locate": {"gtin": "04012345123456", "seconds": 30},
    "alarm-ack": {"alarm_id": "shortage-04012345123456", "by": "Ana"},
    "stocktake-start": {"shelf": "A"},
    "procurement-confirm": {"request_id": "4b7ab2ed-2487-490a-8e7c-ba86c3cbd7dd", "by": "Ana"},
}


def judged(name: str, payload: bytes) -> Received | Refuse:
    result = parse_received(name, payload)
    assert isinstance(result, Received | Refuse)
    if isinstance(result, Refuse):
        assert result.error, "a refusal says why"
    return result


@given(NAMES, st.binary(max_size=300))
def test_any_bytes_are_built_or_refused(name: str, payload: bytes) -> None:
    judged(name, payload)


@given(NAMES, JSON)
def test_any_json_is_built_or_refused(name: str, body: Any) -> None:
    judged(name, json.dumps(body).encode())


@given(
    st.sampled_from(sorted(GOOD)),
    st.text(max_size=12),
    JSON,
)
def test_a_valid_command_with_a_field_changed_is_built_or_refused(
    name: str, key: str, value: Any
) -> None:
    body = with_envelope(dict(GOOD[name]))
    body[key] = value
    result = judged(name, json.dumps(body).encode())
    if isinstance(result, Received):
        assert result.message_id and result.expires_at


@given(JSON)
def test_status_answers_are_built_or_refused(body: Any) -> None:
    result = parse_status_update(json.dumps(body).encode())
    assert isinstance(result, RequestAnswer | str)


SECTION_KEYS = st.sampled_from(
    [
        "site",
        "gateway",
        "database",
        "broker",
        "readers",
        "shelves",
        "products",
        "picking",
        "alarms",
        "commands",
        "stocktake",
        "scanners",
        "presence",
        "devices",
        "x",
    ]
)


@given(st.dictionaries(SECTION_KEYS, JSON, max_size=8))
def test_the_config_loader_only_raises_config_errors(data: dict[str, Any]) -> None:
    try:
        parse_config(data)
    except ConfigError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)


@given(st.text(max_size=400))
def test_any_toml_text_is_loaded_or_refused(tmp_path_factory: Any, text: str) -> None:
    path = Path(tmp_path_factory.mktemp("cfg")) / "gateway.toml"
    path.write_text(text, encoding="utf-8")
    try:
        load_config(path)
    except ConfigError as exc:
        assert exc.problems
