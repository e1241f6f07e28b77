"""Commands and procurement status updates from the centre: checked against the contract's
schemas, built with the defaults the schemas write, refused in words."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from inventory.changes import RequestAnswer
from inventory.picking.lists import PickLine, PickRequest
from inventory.replenishment.requests import RequestStatus
from sync.commands import (
    COMMANDS,
    MAX_PAYLOAD,
    AckAlarm,
    CancelPick,
    ConfirmRequest,
    ConfirmStocktake,
    Locate,
    Recall,
    Received,
    Refuse,
    StocktakeEnd,
    StocktakeStart,
    parse_command,
    parse_received,
    with_envelope,
)
from sync.contract import COMMAND_NAMES, MESSAGES
from sync.status_updates import named_ids, parse_status_update

AMOX = "04012345123456"
REQUEST = "4b7ab2ed-2487-490a-8e7c-ba86c3cbd7dd"


def parse(name: str, body: Any) -> object:
    """A command as a sender writes it: the body in its envelope."""
    return parse_command(name, json.dumps(with_envelope(body)).encode())


def test_every_command_has_a_schema() -> None:
    assert COMMANDS == COMMAND_NAMES
    assert all(f"cmd-{name}" in MESSAGES for name in COMMANDS)


@pytest.mark.parametrize(
    ("name", "body", "command"),
    [
        (
            "pick",
            {"pick_id": "rx-1", "lines": [{"gtin": AMOX, "quantity": 2}]},
            PickRequest("rx-1", (PickLine(AMOX, 2, ""),), "", ""),
        ),
        (
            "pick",
            {
                "pick_id": "rx-2",
                "lines": [{"gtin": AMOX, "quantity": 1, "batch": "B1"}],
                "picker": "Ana",
                "scanner": "desk",
            },
            PickRequest("rx-2", (PickLine(AMOX, 1, "B1"),), "Ana", "desk"),
        ),
        ("pick-cancel", {"pick_id": "rx-1"}, CancelPick("rx-1", "centre")),
        ("locate", {"gtin": AMOX}, Locate(AMOX, None, AMOX)),
        (
            "locate",
            {"gtin": AMOX, "seconds": 5, "command_id": "loc-1"},
            Locate(AMOX, 5.0, "loc-1"),
        ),
        ("recall", {"gtin": AMOX, "batch": "B1"}, Recall(AMOX, "B1", "", "centre")),
        ("stocktake-start", {"shelf": "A"}, StocktakeStart("A", "")),
        ("stocktake-end", {}, StocktakeEnd(None)),
        ("stocktake-end", {"stocktake_id": "st-1"}, StocktakeEnd("st-1")),
        (
            "stocktake-confirm",
            {"stocktake_id": "st-1", "by": "Ana"},
            ConfirmStocktake("st-1", "Ana"),
        ),
        ("alarm-ack", {"alarm_id": "shortage-x", "by": "Ana"}, AckAlarm("shortage-x", "Ana")),
        (
            "procurement-confirm",
            {"request_id": REQUEST, "by": "Ana"},
            ConfirmRequest(REQUEST, "Ana", None),
        ),
        (
            "procurement-confirm",
            {"request_id": REQUEST, "by": "Ana", "quantity": 6},
            ConfirmRequest(REQUEST, "Ana", 6),
        ),
    ],
)
def test_good_commands_are_built_with_the_schemas_defaults(
    name: str, body: dict[str, Any], command: object
) -> None:
    assert parse(name, body) == command


@pytest.mark.parametrize(
    ("name", "payload", "command_id", "said"),
    [
        ("pick", b"{not json", "", "payload is not JSON"),
        ("pick", b"[1]", "", "payload must be a JSON object"),
        ("pick", b"x" * (MAX_PAYLOAD + 1), "", f"at most {MAX_PAYLOAD}"),
        ("launch", b"{}", "", "unknown command 'launch'"),
        (
            "pick",
            json.dumps({"pick_id": "rx-9", "lines": [{"gtin": "04012345123457", "quantity": 1}]}),
            "rx-9",
            "lines[0].gtin: GTIN 04012345123457 has a wrong check digit (expected 6)",
        ),
        ("pick", json.dumps({"pick_id": "rx-9", "lines": []}), "rx-9", "lines: must have at least"),
        ("pick-cancel", json.dumps({"pick_id": "rx-9", "x": 1}), "rx-9", "x: unknown field"),
        (
            "locate",
            json.dumps({"gtin": AMOX, "seconds": 601}),
            AMOX,
            "seconds: must be at most 600",
        ),
        ("stocktake-confirm", json.dumps({"stocktake_id": "st-1"}), "st-1", "by: missing"),
        ("alarm-ack", json.dumps({"alarm_id": "a-1", "by": ""}), "a-1", "by: must be at least 1"),
        (
            "procurement-confirm",
            json.dumps({"request_id": REQUEST, "by": "Ana", "quantity": 0}),
            REQUEST,
            "quantity: must be at least 1",
        ),
    ],
)
def test_bad_commands_are_refused_in_words(
    name: str, payload: bytes | str, command_id: str, said: str
) -> None:
    raw = payload.encode() if isinstance(payload, str) else payload
    refused = parse_command(name, raw)
    assert isinstance(refused, Refuse)
    assert (refused.command, refused.command_id) == (name, command_id)
    assert said in refused.error, refused.error


def test_a_status_update_is_built_with_its_defaults() -> None:
    body = {"request_id": REQUEST, "status": "shipped"}
    update = parse_status_update(json.dumps(body).encode())
    assert update == RequestAnswer(REQUEST, RequestStatus.SHIPPED, "", "centre", None)
    full = {**body, "note": "truck 4", "by": "wholesaler", "at": "2026-11-26T10:00:00Z"}
    assert parse_status_update(json.dumps(full).encode()) == RequestAnswer(
        REQUEST, RequestStatus.SHIPPED, "truck 4", "wholesaler", "2026-11-26T10:00:00Z"
    )
    tagged = {**body, "message_id": "m-17"}
    assert parse_status_update(json.dumps(tagged).encode()) == RequestAnswer(
        REQUEST, RequestStatus.SHIPPED, "", "centre", None, "m-17"
    )


def test_a_refused_status_update_still_names_its_request_and_message() -> None:
    bad = {"request_id": REQUEST, "status": "delivered", "message_id": "m-18"}
    assert isinstance(parse_status_update(json.dumps(bad).encode()), str)
    assert named_ids(json.dumps(bad).encode()) == (REQUEST, "m-18")
    assert named_ids(json.dumps({"request_id": 7, "message_id": ["x"]}).encode()) == ("", "")
    not_an_id = {"request_id": REQUEST, "message_id": "two words"}
    assert named_ids(json.dumps(not_an_id).encode()) == (REQUEST, ""), "never named back"
    assert named_ids(b"[1, 2]") == ("", "")
    assert named_ids(b"{not json") == ("", "")


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"status": "ordered"}, "request_id: missing (required)"),
        ({"request_id": REQUEST}, "status: missing (required)"),
        ({"request_id": REQUEST, "status": "received"}, 'status: "received" is not one of'),
        ({"request_id": REQUEST, "status": "ordered", "eta": "x"}, "eta: unknown field"),
        ({"request_id": REQUEST, "status": "ordered", "note": "n" * 501}, "note: must be at most"),
        ({"request_id": REQUEST, "status": "ordered", "by": "b" * 81}, "by: must be at most 80"),
        ({"request_id": REQUEST, "status": "ordered", "at": "today"}, "at: 'today' is not"),
    ],
)
def test_bad_status_updates_are_refused_in_words(body: dict[str, Any], said: str) -> None:
    refused = parse_status_update(json.dumps(body).encode())
    assert isinstance(refused, str) and said in refused, refused
    assert "payload is not JSON" in str(parse_status_update(b"{"))


@pytest.mark.parametrize("stamp", ["2026-12-05T10:00:00.000Z", "2026-12-05t10:00:00.000z"])
def test_an_expiry_the_contract_takes_is_read_in_either_case(stamp: str) -> None:
    body = {"pick_id": "rx-9", "message_id": "m-1", "expires_at": stamp}
    received = parse_received("pick-cancel", json.dumps({**body, "by": "Ana"}).encode())
    assert isinstance(received, Received)
    assert received.expires_at == datetime(2026, 12, 5, 10, tzinfo=UTC)


def test_a_request_id_in_upper_case_names_the_same_request_in_every_command() -> None:
    """The centre may write a UUID's hex digits in either case: the delivery notice counts
    towards the request it names, and the confirm finds the proposal."""
    named = REQUEST.upper()
    notice = parse(
        "putaway",
        {"delivery_id": "d-1", "lines": [{"gtin": AMOX, "quantity": 1}], "request_id": named},
    )
    assert getattr(notice, "request_id", None) == REQUEST
    confirm = parse("procurement-confirm", {"request_id": named, "by": "Ana"})
    assert confirm == ConfirmRequest(REQUEST, "Ana", None)
