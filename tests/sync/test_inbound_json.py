"""JSON from the network is read only within limits checked before parsing, and every refusal
says which limit was broken; commands and status answers carry the reason to their sender."""

from __future__ import annotations

import json

import pytest

from sync.commands import COMMANDS, Refuse, parse_received
from sync.contract import check_topic
from sync.inbound_json import MAX_DEPTH, MAX_NUMBER_DIGITS, PayloadError, read_json
from sync.procurement_feed import MalformedRequest, parse_request
from sync.status_updates import parse_status_update

DEEP = b"[" * 30_000 + b"]" * 30_000  # 60 KB: under the size limit, far past Python's recursion


def test_values_within_the_limits_are_read() -> None:
    nested = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert read_json(nested) is not None
    assert read_json(b'{"a": [1, 2.5, "[[[[{{{{"], "b": null}') == {
        "a": [1, 2.5, "[[[[{{{{"],
        "b": None,
    }
    assert read_json(json.dumps({"s": "9" * 500})) == {"s": "9" * 500}  # digits in a string


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (DEEP, "nests 30000 levels deep; at most 32"),
        (b'{"a":' * 40 + b"1" + b"}" * 40, "nests 40 levels deep"),
        (b"[" * 5000, "nests 5000 levels deep"),  # unclosed: refused before the parser runs
        (b'{"quantity": ' + b"9" * 5000 + b"}", "a number of 5000 characters; at most 100"),
        (b'{"quantity": NaN}', "NaN is not a JSON value"),
        (b"[Infinity]", "Infinity is not a JSON value"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"a": 1', "not JSON"),
    ],
)
def test_payloads_beyond_a_limit_are_refused_with_the_limit(payload: bytes, reason: str) -> None:
    with pytest.raises(PayloadError, match=reason.replace("(", r"\(")):
        read_json(payload)


def test_the_size_limit_is_checked_first() -> None:
    with pytest.raises(PayloadError, match="payload of 70000 bytes; at most 65536"):
        read_json(b" " * 70_000, 65_536)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_refuses_deep_nesting_with_the_reason(name: str) -> None:
    found = parse_received(name, DEEP)
    assert isinstance(found, Refuse)
    assert found.error == f"payload nests 30000 levels deep; at most {MAX_DEPTH}"
    inner = b'{"pick_id": "rx-1", "x": ' + b"[" * 100 + b"]" * 100 + b"}"
    found = parse_received(name, inner)
    assert isinstance(found, Refuse) and "levels deep" in found.error


def test_status_answers_and_request_consumers_refuse_them_too() -> None:
    assert parse_status_update(DEEP) == f"payload nests 30000 levels deep; at most {MAX_DEPTH}"
    long_number = b'{"request_id": ' + b"1" * (MAX_NUMBER_DIGITS + 1) + b"}"
    assert "a number of" in str(parse_status_update(long_number))
    with pytest.raises(MalformedRequest, match="levels deep"):
        parse_request("rxedge/v1/s1/g1/procurement/request", DEEP)
    assert check_topic("rxedge/v1/s1/g1/cmd/pick", DEEP) == [
        f"payload nests 30000 levels deep; at most {MAX_DEPTH}"
    ]
