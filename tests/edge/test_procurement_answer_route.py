"""The clerk's answer reaches the pharmacy that asked, over a real mosquitto with the gateway
in-process: the watch's line gives the whole command (site, gateway, broker); `rxedge
procurement status` takes the request's gateway from the watch's CSV or seen file and refuses a
--site/--gateway naming another one, or asks for them when nothing says it. A request a
gateway sends again is shown as a repeat, not dropped, and written down once; a request is
told apart by its gateway and its id."""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edge.cli.config_file import CONFIG_ENV, SYSTEM_CONFIG
from edge.demo.local_broker import LocalBroker
from tests.conftest import Subscriber, eventually
from tests.edge.procurement_rig import (
    ROOT,
    CliRun,
    one_request,
    request_message,
    requests,
    stop_gateway,
)

ANSWERS = "rxedge/v1/+/+/procurement/status"


@pytest.fixture(autouse=True)
def no_configuration_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)


def topic_of(body: dict[str, Any]) -> str:
    return f"rxedge/v1/{body['site']}/{body['gateway']}/procurement/request"


def rows_of(path: Path) -> list[tuple[str, str, str]]:
    with path.open(newline="", encoding="utf-8") as held:
        return [(r["site"], r["gateway"], r["request_id"]) for r in csv.DictReader(held)]


def repeats(run: CliRun) -> list[str]:
    """What a watch with --json said on stderr of copies sent again of requests it took."""
    return [line for line in run.errors if line.startswith("sent again")]


async def watch(broker: LocalBroker, tmp_path: Path, *more: str) -> CliRun:
    """The clerk's watch, writing to requests.csv and seen.txt, subscribed."""
    run = await CliRun.start(
        *("procurement", "watch", "--broker", broker.url, "--group", ""),
        *("--csv", str(tmp_path / "requests.csv"), "--seen", str(tmp_path / "seen.txt")),
        *more,
    )
    await run.watching()
    return run


async def status(rid: str, state: str, *more: str, wait: str = "5") -> CliRun:
    """`rxedge procurement status`, waiting `wait` seconds for the gateway to confirm."""
    run = await CliRun.start("procurement", "status", rid, state, "--wait", wait, *more)
    await run.finish()
    return run


async def test_the_answer_goes_to_the_gateway_the_watch_wrote_down_not_the_configurations(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    """The centre's configuration is another pharmacy's file (s1/g0): the answer still goes to
    s1/g1, which asked; --site/--gateway naming s1/g0 are refused, and nothing reaches it."""
    answers = subscribe(ANSWERS)
    other = tmp_path / "other-pharmacy.toml"
    other.write_text(f'site = "s1"\ngateway = "g0"\n[broker]\nurl = "{broker.url}"\n')
    clerk = await watch(broker, tmp_path, "--count", "1", "--seconds", "30")
    db, _, gateway, task, rid = await one_request(broker.url, tmp_path)
    try:
        assert await clerk.finish() == 0, clerk.errors
        (line,) = clerk.lines
        command = f"rxedge procurement status {rid} STATE --site s1 --gateway g1"
        assert line.endswith(f"  answer: {command} --broker {broker.url}"), line
        files = ("--csv", str(tmp_path / "requests.csv"))
        ordered = await status(rid, "ordered", "--config", str(other), *files)
        assert ordered.process.returncode == 0, ordered.errors
        assert ordered.lines == [f"applied: request {rid} is now ordered"]
        assert requests(db)[rid] == "ordered"
        elsewhere = ("--broker", broker.url, "--site", "s1", "--gateway", "g0")
        wrong = await status(rid, "shipped", *elsewhere, *files)
        assert wrong.process.returncode == 2, wrong.errors
        (said,) = wrong.errors
        assert f"request {rid} came from s1/g1 ({tmp_path / 'requests.csv'})" in said
        assert "not --site s1 --gateway g0" in said
        seen = ("--seen", str(tmp_path / "seen.txt"))
        shipped = await status(rid, "shipped", "--broker", broker.url, *seen)
        assert shipped.process.returncode == 0, shipped.errors
        assert requests(db)[rid] == "shipped"
    finally:
        await stop_gateway(gateway, task)
    sent = [(m.topic, json.loads(m.payload)["status"]) for m in answers.drain()]
    assert sent == [
        ("rxedge/v1/s1/g1/procurement/status", "ordered"),
        ("rxedge/v1/s1/g1/procurement/status", "shipped"),
    ], "every answer at the gateway that asked, none at another"


@pytest.mark.skipif(SYSTEM_CONFIG.exists(), reason="this machine has a gateway configuration")
async def test_without_a_configuration_or_a_known_origin_the_clerk_is_asked_for_the_gateway(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    answers = subscribe(ANSWERS)
    rid = str(request_message()["request_id"])
    bare = await status(rid, "cancelled", "--broker", broker.url)
    assert bare.process.returncode == 2
    (said,) = bare.errors
    assert said.startswith(f"rxedge: request {rid}: give --site and --gateway (there is no "), said
    assert "the watch's line for the request shows its --site and --gateway" in said
    empty = tmp_path / "requests.csv"
    empty.write_text("received_at,site,gateway,request_id\n")
    unknown = await status(rid, "cancelled", "--site", "s1", "--csv", str(empty))
    assert unknown.process.returncode == 2
    assert "give --broker URL and --gateway" in unknown.errors[0]
    assert "(not in the files given)" in unknown.errors[0]
    assert answers.payloads("/procurement/status") == [], "nothing sent anywhere"


async def test_a_request_sent_again_is_shown_as_a_repeat_with_its_gateway_and_written_once(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    """The clerk's answer never reached s1/g2, so it sends the request again: the watch says
    so, with the command that answers s1/g2, also after a restart (with --json on stderr: its
    stdout is the requests to order, each once); a plain copy (delivery is at least once) is
    still dropped, and the CSV file holds the request once."""
    pharmacy = subscribe("nothing/at/all")
    body = request_message(gateway="g2", n=1)
    rid = body["request_id"]
    first = await watch(broker, tmp_path, "--client-id", "clerk-1")
    try:
        for each in (body, body, {**body, "sent_again": 1, "priority": "urgent"}):
            pharmacy.publish(topic_of(body), json.dumps(each))
        await eventually(lambda: len(first.lines) >= 2, what="the request and its repeat")
        assert await first.interrupt() == 130
    finally:
        await first.kill()
    taken, repeat = first.lines
    assert taken.startswith(body["created_at"]) and "sent again" not in taken
    answer = f"rxedge procurement status {rid} STATE --site s1 --gateway g2 --broker {broker.url}"
    assert repeat.startswith(
        "sent again (1): the gateway has no answer yet \u2014 taken here before; an answer sent "
        f"may have gone to another gateway or been lost; answer it with {answer}  "
    ), repeat
    assert "URGENT" in repeat
    again = await watch(broker, tmp_path, "--client-id", "clerk-1", "--json")
    try:
        marker = request_message(gateway="g2", n=2)
        for each in ({**body, "sent_again": 2}, marker):
            pharmacy.publish(topic_of(each), json.dumps(each))
        await eventually(lambda: again.lines, what="the next request")
        await eventually(lambda: repeats(again), what="the repeat, on stderr")
        assert await again.interrupt() == 130
    finally:
        await again.kill()
    assert again.json_lines() == [marker], "stdout of --json: the requests taken, nothing else"
    (shown,) = repeats(again)
    assert shown.startswith("sent again (2): the gateway has no answer yet \u2014 taken here "), (
        shown
    )
    assert f"answer it with {answer}  " in shown and shown.endswith(f"[{rid}]")
    assert rows_of(tmp_path / "requests.csv") == [
        ("s1", "g2", rid),
        ("s1", "g2", marker["request_id"]),
    ], "written down once each"


async def test_the_same_id_from_another_gateway_is_another_request_and_old_seen_files_still_count(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    pharmacies = subscribe("nothing/at/all")
    before = request_message(n=1)  # seen by a watch that kept ids alone
    (tmp_path / "seen.txt").write_text(f"{before['request_id']}\n")
    body = request_message(gateway="g1", n=2)
    copied = {**body, "gateway": "g3"}  # a ledger copied to g3: the same id
    run = await watch(broker, tmp_path, "--json", "--count", "3", "--seconds", "15")
    marker = request_message(gateway="g1", n=3)
    for each in (before, body, copied, marker):
        pharmacies.publish(topic_of(each), json.dumps(each))
    assert await run.finish() == 0, run.errors
    assert run.json_lines() == [body, copied, marker]
    rid = body["request_id"]
    assert rows_of(tmp_path / "requests.csv") == [
        ("s1", "g1", rid),
        ("s1", "g3", rid),
        ("s1", "g1", marker["request_id"]),
    ]
    assert (tmp_path / "seen.txt").read_text().split() == [
        before["request_id"],
        f"s1/g1/{rid}",
        f"s1/g3/{rid}",
        f"s1/g1/{marker['request_id']}",
    ]
    which = await status(
        rid, "ordered", "--broker", broker.url, "--csv", str(tmp_path / "requests.csv")
    )
    assert which.process.returncode == 2
    assert "came from s1/g1" in which.errors[0] and "and s1/g3" in which.errors[0]
    assert "give --site and --gateway to say which one" in which.errors[0]


async def test_any_name_the_contract_allows_is_read_back_from_the_csv_and_seen_files(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    """A site starting with a dash (written to the CSV file after the spreadsheet's guard, a
    quote) and a gateway starting with a space and holding a line separator (U+2028) are told
    as they are by a watch started again with either file alone, which drops their copies,
    and by `procurement status`, which answers each at its own gateway."""
    answers = subscribe(ANSWERS)  # and the pharmacies' side
    dashed = request_message(site="-east", gateway=" g1", n=1)
    spaced = request_message(site="s1", gateway=" g\u20282", n=2)
    files = {"--csv": tmp_path / "requests.csv", "--seen": tmp_path / "seen.txt"}
    both = [word for option, path in files.items() for word in (option, str(path))]
    first = await CliRun.start(
        *("procurement", "watch", "--broker", broker.url, "--group", "", *both),
        *("--json", "--count", "2", "--seconds", "20"),
    )
    await first.watching()
    for body in (dashed, spaced):
        answers.publish(topic_of(body), json.dumps(body))
    assert await first.finish() == 0, first.errors
    assert rows_of(files["--csv"]) == [
        ("'-east", " g1", dashed["request_id"]),
        ("s1", " g\u20282", spaced["request_id"]),
    ], "the site guarded for spreadsheets"
    for option, path in files.items():  # started again, with one file only
        again = await CliRun.start(
            *("procurement", "watch", "--broker", broker.url, "--group", ""),
            *(option, str(path), "--json", "--count", "1", "--seconds", "20"),
        )
        await again.watching()
        marker = request_message(n=3)
        for body in (dashed, spaced, marker):
            answers.publish(topic_of(body), json.dumps(body))
        assert await again.finish() == 0, again.errors
        assert again.json_lines() == [marker], f"the copies dropped by {option} alone"
        for body in (dashed, spaced):
            rid, target = str(body["request_id"]), ("--broker", broker.url, option, str(path))
            said = await status(rid, "ordered", *target, wait="1")
            assert said.process.returncode == 4, said.errors  # no gateway here to confirm
    await eventually(lambda: len(answers.drain()) == 4, what="the four answers")
    assert [m.topic for m in answers.drain()] == 2 * [
        "rxedge/v1/-east/ g1/procurement/status",
        "rxedge/v1/s1/ g\u20282/procurement/status",
    ], "each answered at the gateway that asked"


async def test_the_answer_command_on_a_requests_line_runs_in_a_posix_shell_as_shown(
    broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    """A site starting with a dash would be taken for an option, a gateway's spaces lost
    between words: the line's command, pasted into sh, answers the gateway that asked."""
    answers = subscribe(ANSWERS)  # and the pharmacy's side
    body = request_message(site="-east", gateway="desk 2 ", n=1)
    clerk = await watch_alone(broker, "--count", "1", "--seconds", "20")
    answers.publish(topic_of(body), json.dumps(body))
    assert await clerk.finish() == 0, clerk.errors
    (line,) = clerk.lines
    command = line.split("  answer: ")[1].replace(" STATE ", " ordered ", 1)
    assert command.startswith(
        f"rxedge procurement status {body['request_id']} ordered --site=-east "
        "--gateway 'desk 2 ' --broker "
    ), command
    shell = await asyncio.create_subprocess_exec(
        *(
            "sh",
            "-c",
            f'rxedge() {{ "{sys.executable}" -m edge.cli.main "$@"; }}\n{command} --wait 1',
        ),
        cwd=ROOT,
        stderr=asyncio.subprocess.PIPE,
    )
    _, errors = await asyncio.wait_for(shell.communicate(), 30)
    assert shell.returncode == 4, errors.decode()  # sent; no gateway here to confirm it
    await eventually(lambda: answers.drain(), what="the answer")
    assert [m.topic for m in answers.drain()] == ["rxedge/v1/-east/desk 2 /procurement/status"]


async def watch_alone(broker: LocalBroker, *more: str) -> CliRun:
    """A watch of every gateway, outside any share group, with no files, subscribed."""
    run = await CliRun.start("procurement", "watch", "--broker", broker.url, "--group", "", *more)
    await run.watching()
    return run
