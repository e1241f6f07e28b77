"""The MQTT contract: the schemas compile, docs/asyncapi.yaml is an AsyncAPI 3 document whose
every payload is one of the schema files the gateway validates with, every example conforms,
what the gateway's own code writes conforms, and wrong payloads are told apart in words."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from importlib.resources import as_file
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from edge.demo.local_broker import LocalBroker
from inventory.alarms.lifecycle import Alarm, AlarmKind, AlarmState
from inventory.replenishment.policy import Product
from inventory.replenishment.requests import Priority, ProcurementRequest
from inventory.stocktake.epcis import count_events
from inventory.stocktake.report import SlotCount, StocktakeReport
from sync import contract
from sync.contract import CHANNELS, MESSAGES, check_topic, schema, schema_file, validate
from tests.conftest import Subscriber, eventually

REPO = Path(__file__).resolve().parents[2]
DOCUMENT = REPO / "docs" / "asyncapi.yaml"
AMOX = "04012345123456"
AT = "2026-11-26T16:04:17.120Z"


def count_event(epcs: list[str]) -> dict[str, Any]:
    """The EPCIS event of a one-slot count that saw `epcs`."""
    report = StocktakeReport(
        "st-1",
        "A",
        "Ana",
        [SlotCount("A-01")],
        [],
        {"A-01": "urn:epc:id:sgln:4012345.00001.1"},
        {"A-01": epcs},
        counted_at=AT,
        time_zone_offset="+01:00",
    )
    (event,) = count_events(report, "s")
    return event


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded = yaml.safe_load(DOCUMENT.read_text())
    assert isinstance(loaded, dict)
    return loaded


def pointer(document: dict[str, Any], ref: str) -> Any:
    """What a local $ref (#/a/b) points at."""
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def message_objects(document: dict[str, Any], channel: dict[str, Any]) -> Iterator[Any]:
    for message in channel["messages"].values():
        yield pointer(document, message["$ref"]) if "$ref" in message else message


def schema_path(message: str) -> Path:
    with as_file(schema_file(message)) as path:
        return Path(path).resolve()


def test_every_schema_compiles() -> None:
    for message in [*MESSAGES, "common"]:
        Draft7Validator.check_schema(json.loads(schema_path(message).read_text()))
    shipped = {p.stem for p in schema_path("common").parent.glob("*.json")}
    assert shipped == {*MESSAGES, "common"}, "a schema file no message uses, or one missing"


def test_the_schemas_are_package_data() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "schemas/*.json" in project["tool"]["setuptools"]["package-data"]["sync"]
    assert any(d.startswith("jsonschema") for d in project["project"]["dependencies"])


def test_the_document_is_asyncapi_3(document: dict[str, Any]) -> None:
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] and document["info"]["version"]
    channels, operations = document["channels"], document["operations"]
    assert channels and operations and document["components"]["messages"]
    for name, channel in channels.items():
        assert channel["address"].startswith("rxedge/v1/{site}/{gateway}/"), name
        for parameter in ("site", "gateway"):
            assert parameter in channel["parameters"], (name, parameter)
        for message in message_objects(document, channel):
            assert "payload" in message, name
    for name, operation in operations.items():
        assert operation["action"] in ("send", "receive"), name
        channel = pointer(document, operation["channel"]["$ref"])
        assert channel in channels.values(), name
        for message in operation["messages"]:
            assert message["$ref"].startswith(operation["channel"]["$ref"] + "/messages/"), name
            pointer(document, message["$ref"])
        assert operation["bindings"]["mqtt"]["qos"] == 1, name


def test_the_document_and_the_code_use_the_same_schemas(document: dict[str, Any]) -> None:
    by_address = {c["address"]: c for c in document["channels"].values()}
    assert len(by_address) == len(CHANNELS), "channels in one and not the other"
    default_type = document["defaultContentType"]
    for channel in CHANNELS:
        described = by_address[f"rxedge/v1/{{site}}/{{gateway}}/{channel.address}"]
        payloads = {
            m["name"]: (DOCUMENT.parent / m["payload"]["$ref"]).resolve()
            for m in message_objects(document, described)
        }
        assert payloads == {m: schema_path(m) for m in channel.messages}, channel.address
        for message in message_objects(document, described):
            wanted = contract.content_type(message["name"])
            assert message.get("contentType", default_type) == wanted, message["name"]
        operations = [
            op
            for op in document["operations"].values()
            if pointer(document, op["channel"]["$ref"]) is described
        ]
        assert len(operations) == 1, channel.address
        assert operations[0]["action"] == channel.action, channel.address
        assert operations[0]["bindings"]["mqtt"]["retain"] == channel.retained, channel.address


def test_every_example_conforms(document: dict[str, Any]) -> None:
    counted = 0
    for message in MESSAGES:
        for example in schema(message).get("examples", []):
            assert validate(message, example) == [], (message, example)
            counted += 1
    for name, described in document["components"]["messages"].items():
        for example in described.get("examples", []):
            payload = example["payload"]
            raw = payload if isinstance(payload, str) else json.dumps(payload)
            assert validate(name, raw) == [], (name, example)
            counted += 1
    assert counted >= len(MESSAGES)


def test_what_the_gateway_writes_conforms() -> None:
    product = Product(AMOX, "Amoxicillin 500 mg capsules x21", 3, 8, home_slots=("A-01",))
    request = ProcurementRequest(
        "4b7ab2ed-2487-490a-8e7c-ba86c3cbd7dd", AT, product, 5, Priority.URGENT, 0, 0, "auto"
    )
    assert validate("procurement-request", request.payload("site-1", "gw-1")) == []
    shortage = {"gtin": AMOX, "name": product.name, "on_hand": 3, "slots": ["A-01"]}
    counts = dict(slots=4, expected=12, seen=11, missing=1, unexpected=0, misplaced=0)
    discrepancy = {"shelf": "A", "stocktake_id": "st-1", "counts": counts, "slots": ["A-02"]}
    expired = {
        "gtin": AMOX,
        "batch": "B1",
        "expiry": "2026-01-31",
        "slots": ["A-01"],
        "quantity": 3,
    }
    alarms = [
        Alarm(AlarmKind.SHORTAGE, AMOX, AlarmState.RAISED, AT, {**shortage, "reorder_point": 3}),
        Alarm(AlarmKind.STOCK_OUT, AMOX, AlarmState.RAISED, AT, {**shortage, "slots": []}),
        Alarm(AlarmKind.EXPIRED, f"{AMOX}/B1", AlarmState.RAISED, AT, expired),
        Alarm(AlarmKind.DISCREPANCY, "A", AlarmState.RAISED, AT, discrepancy),
        Alarm(AlarmKind.DEVICE_DOWN, "rs485/B", AlarmState.RAISED, AT, {"device": "rs485/B"}),
        Alarm(AlarmKind.STORAGE, "ledger", AlarmState.ACKNOWLEDGED, AT, {"reason": "x"}, AT, "Ana"),
    ]
    for alarm in alarms:
        topic = f"rxedge/v1/site-1/gw-1/alarms/{alarm.id}"
        assert check_topic(topic, alarm.payload()) == [], alarm
    cleared = Alarm(AlarmKind.SHORTAGE, AMOX, AlarmState.CLEARED, AT)
    assert check_topic(f"rxedge/v1/s/g/alarms/{cleared.id}", cleared.payload()) == []
    assert validate("epcis-event", count_event(["urn:epc:id:sgtin:4012345.012345.7"])) == []


@pytest.mark.parametrize(
    ("message", "payload", "said"),
    [
        ("cmd-pick", b"{not json", "payload is not JSON"),
        ("cmd-pick", {"pick_id": "rx-1", "lines": []}, "lines: must have at least 1 items"),
        (
            "cmd-pick",
            {"pick_id": "rx-1", "lines": [{"gtin": "04012345123457", "quantity": 1}]},
            "lines[0].gtin: GTIN 04012345123457 has a wrong check digit (expected 6)",
        ),
        (
            "cmd-pick",
            {"pick_id": "rx-1", "lines": [{"gtin": "4012345123456", "quantity": 1}]},
            "lines[0].gtin: GTIN '4012345123456' must be exactly 14 digits",
        ),
        ("cmd-pick", {"pick_id": "rx-1", "lines": [{"gtin": AMOX}]}, "lines[0].quantity: missing"),
        (
            "cmd-pick",
            {"pick_id": "rx-1", "lines": [{"gtin": AMOX, "quantity": "2"}]},
            "lines[0].quantity: must be an integer, not a string",
        ),
        ("cmd-pick", {"pick_id": "rx 1", "lines": [{"gtin": AMOX, "quantity": 1}]}, "pick_id: "),
        ("cmd-pick-cancel", {"pick_id": "rx-1", "who": "x"}, "who: unknown field (allowed: by,"),
        ("cmd-locate", {"gtin": AMOX, "seconds": 0}, "seconds: must be more than 0"),
        ("cmd-recall", {"gtin": AMOX, "batch": ""}, "batch: must be at least 1 characters"),
        ("cmd-alarm-ack", {"alarm_id": "shortage-x"}, "by: missing (required)"),
        ("procurement-status", {"request_id": "r1", "status": "ordered"}, "is not a UUID"),
        (
            "procurement-status",
            {"request_id": "4b7ab2ed-2487-490a-8e7c-ba86c3cbd7dd", "status": "lost"},
            'status: "lost" is not one of "accepted", "ordered"',
        ),
        ("status", b"maybe", 'payload: "maybe" is not one of "online", "offline"'),
        ("alarm-cleared", b"{}", "payload: must be at most 0 characters long"),
        (
            "cmd-result",
            {"command": "pick", "command_id": "rx-1", "status": "done", "at": AT},
            "lines: missing (required)",
        ),
        (
            "cmd-result",
            {"command": "pick", "command_id": "rx-1", "status": "error", "at": "yesterday"},
            "at: 'yesterday' is not an RFC 3339 date-time",
        ),
        (
            "cmd-result",
            {"command": "locate", "command_id": "x", "status": "recalled", "at": AT},
            'command: must be "recall", not "locate"',
        ),
        (
            "cmd-result",
            {"command": "pick", "command_id": "rx-1", "status": "duplicate", "at": AT},
            "state: missing (required)",
        ),
        (
            "cmd-result",
            {
                "command": "procurement-status",
                "command_id": "4b7ab2ed-2487-490a-8e7c-ba86c3cbd7dd",
                "status": "applied",
                "at": AT,
                "request_id": "4b7ab2ed-2487-490a-8e7c-ba86c3cbd7dd",
                "given": "received",
                "state": "received",
            },
            'given: "received" is not one of "accepted"',
        ),
        (
            "cmd-result",
            {"command": "pick", "command_id": "rx-1", "status": "applied", "at": AT},
            'command: must be "procurement-status", not "pick"',
        ),
        (
            "epcis-event",
            {**count_event(["urn:epc:id:sgtin:1.2.3"]), "@context": ["x"]},
            '@context: must contain "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"',
        ),
        (
            "epcis-event",
            {**count_event(["urn:epc:id:sgtin:1.2.3"]), "extra": 1},
            "extra: unknown field",
        ),
    ],
)
def test_wrong_payloads_are_told_in_words(message: str, payload: Any, said: str) -> None:
    problems = validate(message, payload)
    assert any(said in p for p in problems), problems


def string_fields(node: dict[str, Any], at: str) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Every string field below `node` (at its path, [] for an array's items), with the
    schemas that say what it may hold: its own, and those it refers to or must also match."""
    for name, sub in node.get("properties", {}).items():
        yield from string_fields(sub, f"{at}.{name}".lstrip("."))
    if isinstance(node.get("items"), dict):
        yield from string_fields(node["items"], f"{at}[]")
    said = list(meanings(node))
    types = [p["type"] for p in said if "type" in p]
    if any(t == "string" or (isinstance(t, list) and "string" in t) for t in types):
        yield at, said


def meanings(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if "$ref" in node:  # common.json#/definitions/X, or #/definitions/X inside common.json
        yield from meanings(schema("common")["definitions"][node["$ref"].rsplit("/", 1)[-1]])
    yield node
    for part in node.get("allOf", []):
        yield from meanings(part)


def test_no_command_takes_a_control_character_in_its_text() -> None:
    """Every string the centre sends is an id (a pattern), a code or a time (a format), a
    word of a list, or text on one line: a name, a note, a scanner, a batch or a reference
    that the gateway shows or writes to the ledger never holds a line break or ESC."""
    loose = [
        f"{message}: {at}"
        for channel in CHANNELS
        if channel.sender == contract.CENTRE
        for message in channel.messages
        for at, said in string_fields(schema(message), "")
        if not any({"pattern", "format", "enum", "const"} & set(part) for part in said)
    ]
    assert loose == []


ONE_LINE = (
    "is a control character: write it on one line, without line breaks, tabs or escape sequences"
)


@pytest.mark.parametrize(
    ("message", "changed", "said"),
    [
        ("cmd-pick", {"picker": "Ana\nRuiz"}, "picker: '\\n' at character 4"),
        ("cmd-pick", {"scanner": "desk\x1b[2J"}, "scanner: '\\x1b' at character 5"),
        (
            "cmd-pick",
            {"lines": [{"gtin": AMOX, "quantity": 1, "batch": "B2207\r\n"}]},
            "lines[0].batch: '\\r' at character 6",
        ),
        ("cmd-putaway", {"scanner": "goods-in\t"}, "scanner: '\\t' at character 9"),
        ("cmd-putaway", {"request_id": "PO\x1b]0;x"}, "request_id: '\\x1b' at character 3"),
        (
            "cmd-putaway",
            {"lines": [{"gtin": AMOX, "quantity": 1, "batch": "AX\x9b1"}]},
            "lines[0].batch: '\\x9b' at character 3",
        ),
        ("cmd-recall", {"batch": "B2207\n"}, "batch: '\\n' at character 6"),
        ("cmd-write-off", {"batch": "\x7fOLD"}, "batch: '\\x7f' at character 1"),
        ("cmd-write-off", {"slot": "A-03\n"}, "slot: '\\n' at character 5"),
    ],
)
def test_a_control_character_in_a_commands_text_is_named_with_its_field(
    message: str, changed: dict[str, Any], said: str
) -> None:
    example = schema(message)["examples"][0]
    assert validate(message, {**example, **changed}) == [f"{said} {ONE_LINE}"]


def test_a_topic_is_checked_against_its_levels() -> None:
    alarm = Alarm(AlarmKind.STORAGE, "ledger", AlarmState.RAISED, AT, {"reason": "disk full"})
    problems = check_topic("rxedge/v1/s/g/alarms/storage-other", alarm.payload())
    assert problems == ["alarm_id: 'storage-ledger' but the topic says 'storage-other'"]
    assert check_topic("rxedge/v1/s/g/alarms", b"") == ["no such topic in the contract"]
    request = schema("procurement-request")["examples"][0]
    problems = check_topic("rxedge/v1/elsewhere/gw-1/procurement/request", json.dumps(request))
    assert problems == ["site: 'demo-pharmacy' but the topic says 'elsewhere'"]


def test_topics_below_the_prefix_find_their_channel() -> None:
    found = contract.channel_of("alarms/device_down-rs485")
    assert found is not None and found[0].address == "alarms/{alarm_id}"
    assert found[1] == {"alarm_id": "device_down-rs485"}
    whole = contract.channel_of("rxedge/v1/s1/g1/cmd/pick")
    assert whole is not None and whole[0].sender == contract.CENTRE
    assert whole[1] == {"site": "s1", "gateway": "g1"}
    assert contract.channel_of("cmd/launch") is None
    with pytest.raises(ValueError, match="no message 'launch'"):
        validate("launch", b"{}")


async def test_the_test_subscriber_holds_the_gateways_messages_to_the_contract(
    broker: LocalBroker,
) -> None:
    watcher = Subscriber(broker.port, ["rxedge/v1/#"], client_id="contract-watcher")
    try:
        watcher.publish("rxedge/v1/s/g/cmd/pick", b"{not json")  # the centre's: not checked
        watcher.publish("rxedge/v1/s/g/cmd/launch", b"{}")
        watcher.publish("rxedge/v1/s/g/procurement/status", b"[]")
        watcher.publish("rxedge/v1/s/g/status", b"online")
        watcher.publish("rxedge/v1/s/g/cmd-result", b'{"command": "pick", "status": "done"}')
        watcher.publish("rxedge/v1/s/g/whatever", b"1")
        await eventually(lambda: len(watcher.drain()) == 6, what="every message back")
        assert [v.split(" (b")[0] for v in watcher.violations] == [
            "rxedge/v1/s/g/cmd-result: command_id: missing (required)",
            "rxedge/v1/s/g/cmd-result: at: missing (required)",
            "rxedge/v1/s/g/cmd-result: lines: missing (required)",
            "rxedge/v1/s/g/whatever: no such topic in the contract",
        ]
    finally:
        watcher.close()
