"""Antennas failing under the running daemon (a pty R2000 reader, mosquitto): one without a good
round raises its device_down alarm after the down time and clears at its next good round; one
that fails again and again between good rounds (a loose connector, error replies) drops like a
device: one alarm, held with its acknowledgement until the antenna has read for the window."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from drivers.r2000.inventory import encode_error
from edge.demo.local_broker import LocalBroker
from edge.service.metrics_scrape import scrape
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually, subscribed
from tests.edge.test_device_faults import PREFIX, Rig, retained, running
from tests.edge.test_metrics import rxedge_status

ANTENNA_2 = "device_down-r1-antenna-2"


class BadgelessRig(Rig):
    """The device rig without its badge reader: nothing here needs one."""

    def config(self) -> dict[str, object]:
        config = super().config()
        del config["badges"], config["pharmacists"]
        return config


@pytest.fixture
async def patient_rig(tmp_path: Path, broker: LocalBroker) -> AsyncIterator[Rig]:
    """A device down alarm after 2 s (or 5 drops within 10 min)."""
    async for running_rig in running(BadgelessRig(tmp_path, broker, down_alarm_seconds=2.0)):
        yield running_rig


class MeteredRig(BadgelessRig):
    """With its metrics endpoint, for `rxedge status`."""

    def config(self) -> dict[str, object]:
        return {**super().config(), "metrics": {"listen": "127.0.0.1:0", "refresh_seconds": 0.1}}


@pytest.fixture
async def metered_rig(tmp_path: Path, broker: LocalBroker) -> AsyncIterator[Rig]:
    """A device down alarm after 2 s, or after 3 drops within 60 s; metrics on."""
    made = MeteredRig(tmp_path, broker, 2.0, flap_drops=3, flap_window_seconds=60.0)
    async for running_rig in running(made):
        yield running_rig


@pytest.fixture
async def loose_rig(tmp_path: Path, broker: LocalBroker) -> AsyncIterator[Rig]:
    """A device down alarm after 2 s, or after 3 drops within 5 s."""
    made = BadgelessRig(tmp_path, broker, 2.0, flap_drops=3, flap_window_seconds=5.0)
    async for running_rig in running(made):
        yield running_rig


async def error_frames(rig: Rig, every: float = 0.03) -> None:
    """Error replies to the inventory command (code 0x48) on the reader's line, unasked."""
    while True:
        rig.reader.line.send(encode_error(0x01, 0x48))
        await asyncio.sleep(every)


def antenna_alarm_rows(rig: Rig) -> list[tuple[str, bool]]:
    """The antenna alarms' messages in the outbox, in order: (alarm id, raised or not)."""
    with sqlite3.connect(rig.db) as conn:
        rows = conn.execute(
            "SELECT key, payload FROM outbox WHERE kind = 'alarm' AND key LIKE '%antenna%' "
            "ORDER BY id"
        ).fetchall()
    return [(key, bool(payload)) for key, payload in rows]


def state(rig: Rig, alarm_id: str) -> str | None:
    return dict(rig.alarms()).get(alarm_id)


async def flapped_until_alarmed(rig: Rig) -> None:
    """Antenna 2, read on both antennas a while, fails three times briefly (its flap drops):
    its device_down alarm is raised."""
    await eventually(lambda: rig.reader.rounds > 4, what="rounds on both antennas")
    for _ in range(3):
        await fail_for(rig, 0.3)
    await eventually(lambda: state(rig, ANTENNA_2) == "raised", timeout=5, what="the alarm")


async def fail_for(rig: Rig, seconds: float) -> None:
    """Antenna 2 fails (seen by the daemon) for `seconds`, then reads again (seen too)."""
    texts = rig.texts("device")
    failed = sum("r1-antenna-2: antenna missing" in t for t in texts)
    back = sum("r1-antenna-2 works again" in t for t in texts)
    rig.reader.missing_antennas.add(2)
    await eventually(
        lambda: sum("r1-antenna-2: antenna missing" in t for t in rig.texts("device")) > failed,
        what="antenna 2 failing",
    )
    await asyncio.sleep(seconds)  # the loose connector stays out this long
    rig.reader.missing_antennas.discard(2)
    await eventually(
        lambda: sum("r1-antenna-2 works again" in t for t in rig.texts("device")) > back,
        what="antenna 2 reading again",
    )


async def test_a_loose_antenna_raises_one_alarm_that_stays_acknowledged_until_it_reads(
    loose_rig: Rig, subscribe: Callable[..., Subscriber]
) -> None:
    """Failures shorter than the down time, again and again, raise the alarm; the pharmacist
    acknowledges it; failures longer than the down time with good rounds between neither
    clear it nor raise it afresh; it clears once, after the antenna has read for the window."""
    rig = loose_rig
    centre = subscribe(f"{PREFIX}/alarms/#")
    assert rig.gateway is not None
    await subscribed(rig.gateway)
    await flapped_until_alarmed(rig)
    [raised] = await eventually(lambda: retained(centre, ANTENNA_2), what="published")
    raised = json.loads(raised)
    assert raised["detail"]["antenna"] == 2
    assert raised["detail"]["reason"] == "down 3 times in 5 s (the latest: antenna missing)"

    ack = {"alarm_id": ANTENNA_2, "by": "Ana Ruiz"}
    centre.publish(f"{PREFIX}/cmd/alarm-ack", json.dumps(with_envelope(ack)))
    await eventually(lambda: state(rig, ANTENNA_2) == "acknowledged", what="acknowledged")
    for _ in range(2):  # out for longer than the down time, reading for a moment between
        await fail_for(rig, rig.down_alarm_seconds + 1.0)
        assert state(rig, ANTENNA_2) == "acknowledged", "its good rounds cleared it"
    up_at = asyncio.get_running_loop().time()

    await eventually(lambda: state(rig, ANTENNA_2) == "cleared", timeout=15, what="cleared")
    assert asyncio.get_running_loop().time() - up_at >= 5.0 - 0.5, "cleared before the window"
    sent = await eventually(lambda: (got := retained(centre, ANTENNA_2))[-1:] == [b""] and got)
    live = [json.loads(payload) for payload in sent[:-1]]
    assert [alarm["state"] for alarm in live] == ["raised", "acknowledged"]
    assert live[1]["raised_at"] == raised["raised_at"]
    assert live[1]["acknowledged_by"] == "Ana Ruiz"
    assert antenna_alarm_rows(rig) == [(ANTENNA_2, True)] * 2 + [(ANTENNA_2, False)]
    assert not centre.violations


async def test_error_frames_between_good_rounds_raise_one_held_alarm_not_one_that_flaps(
    loose_rig: Rig, subscribe: Callable[..., Subscriber]
) -> None:
    rig = loose_rig
    centre = subscribe(f"{PREFIX}/alarms/#")
    both = {"device_down-r1-antenna-1", ANTENNA_2}
    flood = asyncio.create_task(error_frames(rig))
    try:
        await eventually(
            lambda: sum("works again" in t for t in rig.texts("device")) >= 20,
            what="antennas failing and working again many times",
        )
        await eventually(
            lambda: {key for key, _ in antenna_alarm_rows(rig)} == both, what="both alarmed"
        )
        await asyncio.sleep(rig.down_alarm_seconds)  # failing on: as long again as an alarm
        assert sorted(antenna_alarm_rows(rig)) == [(key, True) for key in sorted(both)], (
            "an antenna alarm flapped with good rounds between"
        )
    finally:
        flood.cancel()
    for key in both:
        await eventually(lambda key=key: state(rig, key) == "cleared", timeout=15, what=key)
    await asyncio.sleep(0.5)
    assert sorted(antenna_alarm_rows(rig)) == sorted(
        [(key, True) for key in both] + [(key, False) for key in both]
    ), "one raise, one clear each"
    assert len([m for m in centre.drain() if "antenna" in m.topic]) == 4


async def test_an_antenna_without_a_good_round_raises_one_alarm_after_the_down_time(
    patient_rig: Rig, subscribe: Callable[..., Subscriber]
) -> None:
    rig = patient_rig
    centre = subscribe(f"{PREFIX}/alarms/#")
    await eventually(lambda: rig.reader.rounds > 4, what="rounds on both antennas")
    started = asyncio.get_running_loop().time()
    rig.reader.missing_antennas.add(2)
    await eventually(
        lambda: (ANTENNA_2, "raised") in rig.alarms(), timeout=15, what="the antenna alarm"
    )
    waited = asyncio.get_running_loop().time() - started
    await asyncio.sleep(1.0)  # antenna 1 reading all the while
    assert waited >= rig.down_alarm_seconds
    assert ("device_down-r1-antenna-1", "raised") not in rig.alarms(), "antenna 1 reads"
    raised = await eventually(lambda: retained(centre, ANTENNA_2))
    detail = json.loads(raised[0])["detail"]
    assert detail == {"device": "r1", "antenna": 2, "reason": detail["reason"]}
    rig.reader.missing_antennas.clear()
    await eventually(lambda: (ANTENNA_2, "cleared") in rig.alarms())
    await eventually(lambda: b"" in retained(centre, ANTENNA_2))
    await asyncio.sleep(0.5)
    assert antenna_alarm_rows(rig) == [(ANTENNA_2, True), (ANTENNA_2, False)], (
        "one raise, one clear"
    )


async def test_a_held_antenna_alarm_stays_acknowledged_while_its_reader_is_unplugged(
    loose_rig: Rig, subscribe: Callable[..., Subscriber]
) -> None:
    """The antenna read nothing while its whole reader was unplugged for longer than the
    window: its acknowledged alarm neither clears then nor is raised afresh when the reader is
    back with the antenna still loose; it clears once the antenna has read for the window."""
    rig = loose_rig
    centre = subscribe(f"{PREFIX}/alarms/#")
    assert rig.gateway is not None
    await subscribed(rig.gateway)
    await flapped_until_alarmed(rig)
    ack = {"alarm_id": ANTENNA_2, "by": "Ana Ruiz"}
    centre.publish(f"{PREFIX}/cmd/alarm-ack", json.dumps(with_envelope(ack)))
    await eventually(lambda: state(rig, ANTENNA_2) == "acknowledged", what="acknowledged")

    await fail_for(rig, 0.3)  # it read last just now
    unplug = asyncio.create_task(rig.reader.line.unplug(5.0 + 2.0))  # longer than the window
    await eventually(lambda: any("r1 is down" in t for t in rig.texts("device")), what="down")
    rig.reader.missing_antennas.add(2)  # still loose when the reader is back
    failed = sum("r1-antenna-2: antenna missing" in t for t in rig.texts("device"))
    await unplug
    assert state(rig, ANTENNA_2) == "acknowledged", "cleared while the antenna read nothing"
    await eventually(
        lambda: sum("r1-antenna-2: antenna missing" in t for t in rig.texts("device")) > failed,
        timeout=15,
        what="the reader back, antenna 2 failing",
    )
    back = sum("r1-antenna-2 works again" in t for t in rig.texts("device"))
    rig.reader.missing_antennas.discard(2)
    await eventually(
        lambda: sum("r1-antenna-2 works again" in t for t in rig.texts("device")) > back,
        what="antenna 2 reading again",
    )
    up_at = asyncio.get_running_loop().time()
    assert state(rig, ANTENNA_2) == "acknowledged", "raised afresh or cleared at its return"
    await eventually(lambda: state(rig, ANTENNA_2) == "cleared", timeout=15, what="cleared")
    assert asyncio.get_running_loop().time() - up_at >= 5.0 - 0.5, "cleared before the window"
    sent = await eventually(lambda: (got := retained(centre, ANTENNA_2))[-1:] == [b""] and got)
    assert [json.loads(payload)["state"] for payload in sent[:-1]] == ["raised", "acknowledged"]
    assert antenna_alarm_rows(rig) == [(ANTENNA_2, True)] * 2 + [(ANTENNA_2, False)]


async def test_status_tells_an_antenna_that_keeps_failing_from_one_without_a_good_round(
    metered_rig: Rig,
) -> None:
    """Failing again and again, the antenna reads between failures: its slot is watched, but
    not reliably. Once it has had no good round for the down time, its slot is not watched."""
    rig = metered_rig
    url = await eventually(lambda: rig.gateway and rig.gateway.metrics.url, what="the endpoint")
    antenna_2 = {"reader": "r1", "antenna": "2", "slot": "A-02"}

    async def gauge(name: str) -> float | None:
        return (await asyncio.to_thread(scrape, url)).value(name, **antenna_2)

    await flapped_until_alarmed(rig)
    code, out = await rxedge_status("--metrics", url, "--interval", "0")
    assert code == 1, out
    assert "antenna 2 of reader r1 keeps failing: slot A-02 is not watched reliably" in out

    assert await gauge("rxedge_antenna_flapping") == 1

    async def silent() -> bool:
        return await gauge("rxedge_antenna_flapping") == 0

    rig.reader.missing_antennas.add(2)  # then out for good
    await eventually(silent, timeout=10, what="no good round for the down time")
    assert await gauge("rxedge_antenna_up") == 0, "its alarm is live all the while"
    code, out = await rxedge_status("--metrics", url, "--interval", "0", "--json")
    assert code == 1, out
    problems = json.loads(out)["problems"]
    assert "antenna 2 of reader r1 has had no good round: slot A-02 is not watched" in problems
    assert not [problem for problem in problems if "keeps failing" in problem]


async def test_an_antenna_of_a_reader_that_is_down_is_not_said_to_keep_failing(
    metered_rig: Rig,
) -> None:
    """Its reader unplugged, an antenna alarmed for its failures reads nothing at all, not
    between failures: the status names the reader down and the antenna's slot not watched,
    never watched unreliably; at the reader's return it is judged afresh."""
    rig = metered_rig
    url = await eventually(lambda: rig.gateway and rig.gateway.metrics.url, what="the endpoint")
    antenna_2 = {"reader": "r1", "antenna": "2", "slot": "A-02"}

    async def flapping() -> float | None:
        return (await asyncio.to_thread(scrape, url)).value("rxedge_antenna_flapping", **antenna_2)

    await flapped_until_alarmed(rig)
    assert await flapping() == 1

    async def reader_down_said() -> list[str] | None:
        code, out = await rxedge_status("--metrics", url, "--interval", "0", "--json")
        problems: list[str] = json.loads(out)["problems"]
        down = [p for p in problems if p.startswith("reader r1 is down: ")]  # with its reason
        return problems if code == 1 and down else None

    unplug = asyncio.create_task(rig.reader.line.unplug(6.0))
    try:
        problems = await eventually(reader_down_said, timeout=5, what="the reader down")
        assert await flapping() == 0, "it reads nothing while its reader is down"
    finally:
        await unplug
    assert "antenna 2 of reader r1 has had no good round: slot A-02 is not watched" in problems
    assert not [problem for problem in problems if "keeps failing" in problem], problems
    assert state(rig, ANTENNA_2) == "raised", "its alarm waits out the outage"
