"""Two `rxedge procurement watch` with one `--client-id` share one session and throw each other
off: each request one of them took and could not acknowledge before it was thrown off goes to
the other, which writes it down too. The watch whose session is taken over stops (exit 3,
saying why and what to do) and writes down nothing more, even with the broker gone; what it
had not written down stays with the session, for the other watch, which goes on alone, and
every request is written down, by one of them at least; a second broker that is down changes
none of it. A broker that crashes or restarts, even at once, is no takeover: the watch goes
on, and writes down every request that reached it. Real mosquitto, the watches as processes
or in this one."""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edge.cli.procurement.watch import Clerk, ProcurementWatch, WatchOptions, watch
from edge.cli.procurement.watch_links import AlarmsAndLink
from edge.demo.local_broker import LocalBroker, free_port
from sync.broker_refusal import RESTART_LINK_SECONDS, SessionTakeover
from sync.broker_url import BrokerAddress
from sync.mqtt_session import Delivery, MqttSession
from sync.procurement_feed import ReceivedRequest, RequestConsumer
from tests.conftest import Subscriber, eventually
from tests.edge.procurement_rig import PREFIX, CliRun, request_message

REQUESTS = 300
TAKEN_OVER = 3  # the watch's exit status when another client takes its session over


def written(table: Path) -> list[str]:
    """The request ids in a watch's CSV file, in order."""
    if not table.exists():
        return []
    with table.open(newline="") as rows:
        return [row["request_id"] for row in csv.DictReader(rows)]


async def test_a_second_watch_with_the_same_client_id_stops_one_of_them_and_loses_nothing(
    broker: LocalBroker, tmp_path: Path
) -> None:
    tables = [tmp_path / "first.csv", tmp_path / "second.csv"]
    watch = ["procurement", "watch", "--broker", broker.url, "--client-id", "clerk-1"]
    first = await CliRun.start(*watch, "--csv", str(tables[0]))
    second: CliRun | None = None
    centre = Subscriber(broker.port, ["nothing/at/all"], "centre")
    try:
        await first.watching()
        second = await CliRun.start(*watch, "--csv", str(tables[1]))
        await eventually(
            lambda: any("watching" in e for e in second.errors) or second.process.returncode,
            timeout=20,
            what="the second watch subscribed",
        )
        sent = [request_message(n=1 + n % 9) for n in range(REQUESTS)]
        for body in sent:  # while the two throw each other off
            centre.publish(f"{PREFIX}/procurement/request", json.dumps(body))
        runs = (first, second)
        stopped = await eventually(
            lambda: next((r for r in runs if r.process.returncode is not None), None),
            timeout=20,
            what="one watch stopped",
        )
        on = second if stopped is first else first
        assert await stopped.finish() == TAKEN_OVER, stopped.errors
        said = "\n".join(stopped.errors)
        assert "rxedge: watch stopped:" in said and "client id 'clerk-1'" in said
        assert "give each its own --client-id" in said
        ids = {b["request_id"] for b in sent}
        await eventually(
            lambda: set(written(tables[0])) | set(written(tables[1])) == ids,
            timeout=30,
            what="every request written down",
        )
        assert on.process.returncode is None, "the other watch goes on"
        assert await on.interrupt() == 130
    finally:
        centre.close()
        await first.kill()
        if second is not None:
            await second.kill()
    # A request each took before the sign may be in both files (none is thrown away: a link
    # that goes may be a broker's crash, which would not hand it over again); once in each.
    for table in tables:
        assert len(written(table)) == len(set(written(table))), "once in each file"


async def test_a_broker_killed_mid_burst_loses_no_request_that_reached_the_watch(
    broker: LocalBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash (kill -9) is no takeover: each request the watch received before it, waiting
    its turn when the link went, is written down, though the broker does not hand it over
    again (it lost the session's messages with the crash)."""
    received: list[str] = []
    arrived = RequestConsumer._arrived

    def receiving(consumer: RequestConsumer, delivery: Delivery) -> None:
        received.append(json.loads(delivery.payload)["request_id"])
        arrived(consumer, delivery)

    monkeypatch.setattr(RequestConsumer, "_arrived", receiving)
    written_down: list[str] = []

    async def write_down(request: ReceivedRequest) -> None:
        await asyncio.sleep(0.002)  # a line written and flushed
        written_down.append(request.request_id)

    watch = ProcurementWatch(
        BrokerAddress.parse(broker.url), write_down, client_id="clerk-1", group=""
    )
    centre = Subscriber(broker.port, ["nothing/at/all"], "centre")
    await watch.start()
    try:
        await watch.until_subscribed(10)
        for n in range(REQUESTS * 3):
            centre.publish(
                f"{PREFIX}/procurement/request", json.dumps(request_message(n=1 + n % 9))
            )
        await eventually(
            lambda: len(received) - len(written_down) > 50, what="requests waiting their turn"
        )
        broker.kill()
        await broker.start()
        await eventually(watch.session.connected.is_set, timeout=20, what="the watch back")
        await eventually(
            lambda: set(received) <= set(written_down),
            timeout=20,
            what="every request received written down",
        )
        assert not watch.session.takeover.taken_over.is_set()
    finally:
        centre.close()
        await watch.stop()


async def test_a_broker_restarted_three_times_quickly_is_no_takeover(broker: LocalBroker) -> None:
    """Each restart leaves the broker refusing connections a moment: the watch goes on."""
    watch = await CliRun.start(
        "procurement", "watch", "--broker", broker.url, "--client-id", "clerk-1", "--json"
    )
    try:
        await watch.watching()
        for _ in range(3):
            broker.kill()
            await asyncio.sleep(0.5)
            await broker.start()
            await asyncio.sleep(2.0)  # the watch back within a second, and the broker gone again
        await asyncio.sleep(3.0)  # the watch would have told a takeover by now
        assert watch.process.returncode is None, "\n".join(watch.errors)
        assert not any("watch stopped" in e for e in watch.errors), watch.errors
        body = request_message()
        centre = Subscriber(broker.port, ["nothing/at/all"], "centre")
        centre.publish(f"{PREFIX}/procurement/request", json.dumps(body))
        centre.close()
        await eventually(
            lambda: any(body["request_id"] in line for line in watch.lines),
            timeout=20,
            what="a request after the restarts written down",
        )
        assert await watch.interrupt() == 130
    finally:
        await watch.kill()


async def test_two_watches_with_one_client_id_are_told_though_another_broker_is_down(
    broker: LocalBroker,
) -> None:
    """Given `--broker live,down`, each lost link moves a watch on to the broker that is down
    before it comes back: that failed attempt is no restart of the live broker."""
    brokers = f"{broker.url},mqtt://127.0.0.1:{free_port()}"
    watch_args = ["procurement", "watch", "--broker", brokers, "--client-id", "clerk-1"]
    first = await CliRun.start(*watch_args)
    second: CliRun | None = None
    try:
        await first.watching()
        second = await CliRun.start(*watch_args)
        runs = (first, second)
        stopped = await eventually(
            lambda: next((r for r in runs if r.process.returncode is not None), None),
            timeout=30,
            what="one watch stopped",
        )
        assert await stopped.finish() == TAKEN_OVER, stopped.errors
        assert any("client id 'clerk-1'" in e for e in stopped.errors), stopped.errors
    finally:
        await first.kill()
        if second is not None:
            await second.kill()


async def test_a_broker_killed_and_up_again_at_once_three_times_is_no_takeover(
    broker: LocalBroker,
) -> None:
    """A crash and a restart within a moment (systemd's Restart=on-failure, RestartSec=100ms),
    each within seconds of the watch's link back, not within a second: no connect attempt fails
    between the short links, but the session went with the crash, where a takeover hands it
    over whole."""
    watcher = await CliRun.start(
        "procurement", "watch", "--broker", broker.url, "--client-id", "clerk-1", "--json"
    )

    async def link_back() -> None:
        """Wait until the watch, subscribed again, writes down a request sent now."""
        centre = Subscriber(broker.port, ["nothing/at/all"], "centre")
        bodies: list[dict[str, object]] = []

        def written_down() -> bool:
            if watcher.process.returncode is not None:
                return True
            bodies.append(request_message())  # one sent before its subscription is not kept
            centre.publish(f"{PREFIX}/procurement/request", json.dumps(bodies[-1]))
            return any(b["request_id"] in line for b in bodies for line in watcher.lines)

        try:
            await eventually(written_down, timeout=20, interval=0.2, what="the watch back")
        finally:
            centre.close()

    try:
        await watcher.watching()
        for _ in range(3):
            broker.kill()
            await broker.start()
            await link_back()
            await asyncio.sleep(RESTART_LINK_SECONDS)  # up a while, then killed again
        await link_back()
        assert watcher.process.returncode is None, "\n".join(watcher.errors)
        assert not any("watch stopped" in e for e in watcher.errors), watcher.errors
        assert await watcher.interrupt() == 130
    finally:
        await watcher.kill()


def watching(capsys: pytest.CaptureFixture[str]) -> Callable[[], bool]:
    """Whether a watch started in this process has said it is watching, by now."""
    said: list[str] = []
    return lambda: said.append(capsys.readouterr().err) or "watching" in "".join(said)


def slow_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each request takes the watch a while: a backlog waits its turn when a takeover comes."""
    take = Clerk.take

    async def write_down(clerk: Clerk, request: ReceivedRequest) -> None:
        await asyncio.sleep(0.01)
        await take(clerk, request)

    monkeypatch.setattr(Clerk, "take", write_down)


@pytest.mark.parametrize("slow_to_stop", [False, True])
async def test_a_watch_taken_over_leaves_its_backlog_to_the_other_watch(
    broker: LocalBroker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    slow_to_stop: bool,
) -> None:
    """A backlog waits its turn in a watch when a second watch with its --client-id comes: one
    stops with exit 3 and writes down nothing more; what it had received and not written down
    stays with the session and goes to the other, which goes on and writes it down. Only the
    requests received while the two threw each other off, before the sign, may be in both files.
    `slow_to_stop`: the watch told is a while closing (a busy machine), and links no more
    meanwhile: its retry would throw the other off, which would be told and stop too."""
    slow_disk(monkeypatch)
    if slow_to_stop:
        closing = AlarmsAndLink.stop

        async def slowly(links: AlarmsAndLink) -> None:
            await asyncio.sleep(1.5)
            await closing(links)

        monkeypatch.setattr(AlarmsAndLink, "stop", slowly)
    tables = [tmp_path / "first.csv", tmp_path / "second.csv"]
    options = [WatchOptions(broker.url, client_id="clerk-1", csv=t, group="") for t in tables]
    runs = [asyncio.create_task(watch(options[0]))]
    centre = Subscriber(broker.port, ["nothing/at/all"], "centre")
    try:
        await eventually(watching(capsys), what="the first watch subscribed")
        sent = [request_message(n=1 + n % 9) for n in range(REQUESTS * 2)]
        for body in sent:
            centre.publish(f"{PREFIX}/procurement/request", json.dumps(body))
        await eventually(lambda: len(written(tables[0])) > 10, what="the first watch busy")
        runs.append(asyncio.create_task(watch(options[1])))
        done, _ = await asyncio.wait(runs, timeout=20, return_when=asyncio.FIRST_COMPLETED)
        assert [run.result() for run in done] == [TAKEN_OVER]
        told = runs.index(done.pop())
        stopped = tables[told]
        left = len(written(stopped))
        ids = {b["request_id"] for b in sent}
        await eventually(
            lambda: set(written(tables[0])) | set(written(tables[1])) == ids,
            timeout=60,  # 600 requests at 10 ms or more each, on a busy machine
            what=lambda: (
                f"every request written down ({len(written(tables[0]))} and "
                f"{len(written(tables[1]))} written, "
                f"{len(ids - set(written(tables[0])) - set(written(tables[1])))} of {len(ids)} "
                f"in neither; stopped: {stopped.name}, {left} then)"
            ),
        )
        assert len(written(stopped)) == left, "nothing written down once stopped"
        assert not runs[1 - told].done(), "the other watch goes on"
    finally:
        centre.close()
        for run in runs:
            run.cancel()
        await asyncio.gather(*runs, return_exceptions=True)
    # Those a watch received on the links before the sign (at most the broker's inflight
    # window each), not the backlog: a watch that is told writes down nothing more.
    both = set(written(tables[0])) & set(written(tables[1]))
    assert len(both) < REQUESTS // 2, f"{len(both)} of {len(sent)} in both files"
    for table in tables:
        assert len(written(table)) == len(set(written(table))), "once in each file"


async def test_a_watch_taken_over_stops_though_the_broker_is_gone_with_an_answer_unacknowledged(
    broker: LocalBroker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--accept: the answer to a request waits for the broker's PUBACK. The broker dies as the
    watch is told of the takeover: the watch stops all the same, with exit 3."""
    slow_disk(monkeypatch)
    link_down = SessionTakeover.link_down

    def dies_when_told(takeover: SessionTakeover, *args: Any) -> bool:
        sign: bool = link_down(takeover, *args)
        if sign and broker._process is not None:
            broker.kill()
        return sign

    monkeypatch.setattr(SessionTakeover, "link_down", dies_when_told)
    table = tmp_path / "requests.csv"
    options = WatchOptions(broker.url, client_id="clerk-1", csv=table, accept=True, group="")
    run = asyncio.create_task(watch(options))
    intruder = MqttSession(BrokerAddress.parse(broker.url), "clerk-1")
    centre = Subscriber(broker.port, ["nothing/at/all"], "centre")
    try:
        await eventually(watching(capsys), what="the watch subscribed")
        for n in range(REQUESTS):
            centre.publish(
                f"{PREFIX}/procurement/request", json.dumps(request_message(n=1 + n % 9))
            )
        await eventually(lambda: len(written(table)) > 10, what="the watch busy")
        await intruder.start()
        assert await asyncio.wait_for(run, 20) == TAKEN_OVER
    finally:
        centre.close()
        await intruder.stop()
        run.cancel()
