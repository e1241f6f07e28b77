"""Every answer a command message draws on `cmd-result` names it (`reply_to`, its message_id):
a list accepted, a cancel told as the list's end, a sweep started and ended on the daemon's
loop, and refusals (by the contract, the ledger, the stocktake flow) whose id could be read. A
payload whose id cannot be read is answered without one, and what is said later (a pack
picked, the list done) answers no message. `rxedge pick --cancel` takes the answer to its own
message, not a late answer to an earlier cancel of the same list, and `rxedge pick` follows its
list to its end, whatever answers others draw about the same list meanwhile."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edge.demo.local_broker import LocalBroker
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually, subscribed
from tests.edge.pick_rig import (
    AMOX,
    PREFIX,
    results,
    start_rig,
    statuses,
    stop_rig,
    writer_held,
)
from tests.edge.procurement_rig import CliRun
from tests.sync.breaking_proxy import BreakingProxy


def send(centre: Subscriber, name: str, body: dict[str, Any]) -> str:
    """Publish `cmd/{name}` as the centre would; its message_id."""
    message = with_envelope(body)
    centre.publish(f"{PREFIX}/cmd/{name}", json.dumps(message))
    return str(message["message_id"])


async def answer_to(centre: Subscriber, message_id: str) -> dict[str, Any]:
    """The one answer naming `message_id`, once it came."""
    found = await eventually(
        lambda: [r for r in centre.payloads("/cmd-result") if r.get("reply_to") == message_id],
        what=f"the answer to {message_id}",
    )
    [answer] = found
    return answer  # type: ignore[no-any-return]


async def test_answers_name_the_command_message_they_answer(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    rig = await start_rig(tmp_path, broker)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        one = [{"gtin": AMOX, "quantity": 1}]
        pick = send(centre, "pick", {"pick_id": "rx-1", "lines": one, "picker": "Ana"})
        accepted = await answer_to(centre, pick)
        assert (accepted["command_id"], accepted["status"]) == ("rx-1", "accepted")
        # The pack picked and the list done are reports of the list, not answers to a message.
        await rig.press("A-02")
        await eventually(lambda: results(centre, "rx-1")[-1]["status"] == "done", what="done")
        later = results(centre, "rx-1")[1:]
        assert [r["status"] for r in later] == ["progress", "done"]
        assert all("reply_to" not in r for r in later)

        # A cancel is answered as the list's end, naming the cancel.
        send(centre, "pick", {"pick_id": "rx-2", "lines": one, "picker": "Bea"})
        await eventually(lambda: results(centre, "rx-2"), what="rx-2 accepted")
        cancel = send(centre, "pick-cancel", {"pick_id": "rx-2", "by": "Bea"})
        cancelled = await answer_to(centre, cancel)
        assert (cancelled["command"], cancelled["status"]) == ("pick", "cancelled")
        # Refused by the ledger, by the contract (its id still read), by the stocktake flow.
        again = send(centre, "pick-cancel", {"pick_id": "rx-2", "by": "Bea"})
        assert "is cancelled" in (await answer_to(centre, again))["error"]
        bad = send(centre, "pick", {"pick_id": "rx-3", "lines": [{"gtin": AMOX, "quantity": 0}]})
        refused = await answer_to(centre, bad)
        assert (refused["command_id"], refused["status"]) == ("rx-3", "error")
        nowhere = send(centre, "stocktake-start", {"shelf": "Z", "by": "Ana"})
        assert "no shelf 'Z'" in (await answer_to(centre, nowhere))["error"]

        # A sweep started and ended by command on the daemon's loop (the handheld read
        # nothing: nothing to judge).
        start = send(centre, "stocktake-start", {"shelf": "A", "by": "Ana"})
        started = await answer_to(centre, start)
        assert started["status"] == "started"
        end = send(centre, "stocktake-end", {"stocktake_id": started["stocktake_id"]})
        assert (await answer_to(centre, end))["status"] == "abandoned"

        # No id to read: answered all the same, naming no message.
        centre.publish(f"{PREFIX}/cmd/locate", b"{not json")
        no_id = {"gtin": AMOX, "command_id": "where-1", "message_id": "not an id!"}
        centre.publish(f"{PREFIX}/cmd/locate", json.dumps(no_id))

        def unnamed() -> list[dict[str, Any]]:
            answers = centre.payloads("/cmd-result")
            return [r for r in answers if r["command"] == "locate" and r["status"] == "error"]

        found = await eventually(lambda: len(unnamed()) == 2 and unnamed(), what="two refusals")
        assert all("reply_to" not in r for r in found)
    finally:
        await stop_rig(rig)


async def test_a_pick_list_with_a_control_character_in_its_text_is_refused_unstarted(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    """A line break in the picker's name, ESC in the scanner's, a line break in a line's
    batch: each list is refused, naming the field and the character, and never started (no
    answer but the refusal, no list in the ledger)."""
    rig = await start_rig(tmp_path, broker)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        one = [{"gtin": AMOX, "quantity": 1}]
        hostile = {
            "rx-name": ({"picker": "Ana\nRuiz"}, "picker: '\\n' at character 4"),
            "rx-scanner": ({"scanner": "desk\x1b[2J"}, "scanner: '\\x1b' at character 5"),
            "rx-batch": (
                {"lines": [{**one[0], "batch": "EARLY\n"}]},
                "lines[0].batch: '\\n' at character 6",
            ),
        }
        answers = {}
        for pick_id, (text, _) in hostile.items():
            sent = send(centre, "pick", {"pick_id": pick_id, "lines": one, **text})
            answers[pick_id] = await answer_to(centre, sent)
        fine = send(centre, "pick", {"pick_id": "rx-fine", "lines": one, "picker": "Ana"})
        assert (await answer_to(centre, fine))["status"] == "accepted"
        with sqlite3.connect(rig.db) as db:
            started = [r[0] for r in db.execute("SELECT pick_id FROM pick_lists")]
    finally:
        await stop_rig(rig)
    for pick_id, (_, said) in hostile.items():
        answer = answers[pick_id]
        assert (answer["command_id"], answer["status"]) == (pick_id, "error"), answer
        assert answer["error"].startswith(f"{said} is a control character"), answer
        assert statuses(centre, pick_id) == ["error"], "never accepted"
    assert started == ["rx-fine"]


async def test_the_command_line_is_not_told_a_late_answer_to_an_earlier_command(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    """The centre cancels a list; the gateway is slow to answer; meanwhile a pharmacist
    cancels it from the command line. The centre's cancel is answered first (cancelled): the
    command line must wait for the answer to its own cancel (refused: already cancelled)."""
    rig = await start_rig(tmp_path, broker)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        sent = subscribe(f"{PREFIX}/cmd/pick-cancel", client_id="cancels")
        lines = [{"gtin": AMOX, "quantity": 1}]
        send(centre, "pick", {"pick_id": "rx-1", "lines": lines, "picker": "Ana"})
        await eventually(lambda: results(centre, "rx-1"), what="rx-1 accepted")
        target = ["--broker", broker.url, "--site", "s1", "--gateway", "g1", "--json"]
        async with writer_held(rig):
            earlier = send(centre, "pick-cancel", {"pick_id": "rx-1", "by": "the centre"})
            cli = await CliRun.start("pick", "--cancel", "rx-1", *target)
            await eventually(
                lambda: len(sent.payloads("/cmd/pick-cancel")) == 2,
                timeout=20,
                what="the command line's cancel sent",
            )
        code = await cli.finish(timeout=30)
        [answer] = cli.json_lines()
        assert answer["status"] == "error" and "is cancelled" in answer["error"], answer
        assert code == 1, cli.errors
        assert (await answer_to(centre, earlier))["status"] == "cancelled"
        assert answer["reply_to"] != earlier
    finally:
        await stop_rig(rig)


@pytest.mark.parametrize("ending", ["picked", "cancelled by the centre"])
async def test_the_command_line_follows_its_list_past_answers_to_others_about_it(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber], ending: str
) -> None:
    """`rxedge pick` has its list accepted; the centre sends the same list again (answered
    `duplicate`, naming the centre's message). The command line is not told that answer: it
    follows its list to its end, `done` (exit 0) or cancelled by the centre (that cancel's
    answer is the list's end: exit 1)."""
    rig = await start_rig(tmp_path, broker)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        body = {"pick_id": "rx-f", "lines": [{"gtin": AMOX, "quantity": 1}], "picker": "Ana"}
        listed = tmp_path / "rx-f.json"
        listed.write_text(json.dumps(body))
        target = ["--broker", broker.url, "--site", "s1", "--gateway", "g1", "--json"]
        cli = await CliRun.start("pick", str(listed), *target)
        await eventually(
            lambda: [a["status"] for a in cli.json_lines()] == ["accepted"],
            timeout=20,
            what="the command line's list accepted",
        )
        again = send(centre, "pick", body)
        assert (await answer_to(centre, again))["status"] == "duplicate"
        if ending == "picked":
            await rig.press("A-02")
            code = await cli.finish(timeout=30)
            assert [a["status"] for a in cli.json_lines()] == ["accepted", "progress", "done"]
            assert code == 0, cli.lines + cli.errors
        else:
            send(centre, "pick-cancel", {"pick_id": "rx-f", "by": "the centre"})
            code = await cli.finish(timeout=30)
            assert [a["status"] for a in cli.json_lines()] == ["accepted", "cancelled"]
            assert code == 1, cli.lines + cli.errors
    finally:
        await stop_rig(rig)


async def test_a_command_sent_again_over_a_new_link_is_not_told_as_refused(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """`rxedge stocktake start` through a link that breaks as the command reaches the broker:
    the sweep starts, its answer is lost with the link, the client sends the command again on
    its next link and the gateway refuses that copy (`replay_of`). The tool says the answer
    was lost (exit 3, look before sending again), not that the sweep was refused."""
    rig = await start_rig(tmp_path, broker)
    proxy = BreakingProxy(broker.url, "/cmd/stocktake-start")
    await proxy.start()
    try:
        assert rig.gateway is not None
        await subscribed(rig.gateway)
        cli = await CliRun.start(
            *("stocktake", "start", "A", "--by", "Ana", "--broker", proxy.url),
            *("--site", "s1", "--gateway", "g1", "--wait", "20"),
        )
        code = await cli.finish(timeout=40)
        assert proxy.broken and proxy.links >= 2
        assert code == 3, cli.lines + cli.errors
        assert any("that answer was lost with the link" in e for e in cli.errors), cli.errors
        sweep = rig.gateway.stocktake.sweep
        assert sweep is not None and sweep.shelf == "A" and sweep.by == "Ana", "carried out once"
    finally:
        await proxy.stop()
        await stop_rig(rig)
