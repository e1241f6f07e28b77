"""GS1's EPCIS 2.0 JSON Schema (tests/data/gs1-epcis, with its source and licence), for checking
every EPCIS document and event rxedge produces; formats (uri, date-time) are checked too."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA = Path(__file__).parent / "data" / "gs1-epcis" / "EPCIS-JSON-Schema.json"


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    kind = jsonschema.validators.validator_for(schema)
    return kind(schema, format_checker=kind.FORMAT_CHECKER)


def epcis_problems(document: dict[str, Any]) -> list[str]:
    """What GS1's schema finds wrong with an EPCIS document or a single event (none: [])."""
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
        for e in _validator().iter_errors(document)
    ]
