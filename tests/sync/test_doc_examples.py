"""The examples an integrator copies: every JSON example in docs/ is a message the shipped
schemas accept, and every command has one complete example, the same in docs/mqtt.md and
docs/asyncapi.yaml."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from sync.contract import CENTRE, CHANNELS, validate

DOCS = Path(__file__).resolve().parents[2] / "docs"
# A block's message: named by a comment just before it, or by the topic in its section heading.
MARKER = re.compile(r"^<!-- message: (?P<message>[a-z-]+) -->$")
HEADING = re.compile(r"^#+ .*`(?P<topic>[a-z{}_/-]+)`")
BY_TOPIC = {channel.address: channel.messages for channel in CHANNELS}
COMMANDS = [c.messages[0] for c in CHANNELS if c.sender == CENTRE and c.address.startswith("cmd/")]


def json_examples(page: Path) -> list[tuple[int, tuple[str, ...], str]]:
    """(line, the messages it may be, its text) of every ```json block on the page."""
    found = []
    lines = page.read_text().splitlines()
    messages: tuple[str, ...] = ()
    for number, line in enumerate(lines):
        if line.startswith("#"):
            heading = HEADING.match(line)
            messages = BY_TOPIC.get(heading["topic"], ()) if heading else ()
        if line.strip() == "```json":
            end = lines.index("```", number + 1)
            marker = MARKER.match(lines[number - 1]) if number else None
            named = (marker["message"],) if marker else messages
            found.append((number + 1, named, "\n".join(lines[number + 1 : end])))
    return found


def test_every_json_example_in_the_docs_is_a_message_the_schemas_accept() -> None:
    checked = 0
    for page in sorted(DOCS.glob("*.md")):
        for line, messages, text in json_examples(page):
            where = f"{page.name}:{line}"
            assert messages, f"{where}: say which message it is (a topic heading or a marker)"
            problems = {message: validate(message, text) for message in messages}
            assert any(not found for found in problems.values()), f"{where}: {problems}"
            checked += 1
    assert checked >= len(COMMANDS) + 5


def command_examples_on_the_page() -> dict[str, Any]:
    page = DOCS / "mqtt.md"
    found: dict[str, Any] = {}
    for _, messages, text in json_examples(page):
        if messages and messages[0] in COMMANDS:
            assert messages[0] not in found, f"two examples of {messages[0]} in mqtt.md"
            found[messages[0]] = json.loads(text)
    return found


def test_each_command_has_one_complete_example_the_same_on_the_page_and_in_asyncapi() -> None:
    on_the_page = command_examples_on_the_page()
    document = yaml.safe_load((DOCS / "asyncapi.yaml").read_text())
    for command in COMMANDS:
        assert command in on_the_page, f"docs/mqtt.md has no example of {command}"
        example = on_the_page[command]
        assert {"message_id", "expires_at"} <= set(example), f"{command}: incomplete"
        assert validate(command, example) == [], command
        described = document["components"]["messages"][command].get("examples", [])
        assert [e["payload"] for e in described] == [example], f"{command}: not the same"
