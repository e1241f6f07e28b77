"""The metrics endpoint of a running gateway, scraped over HTTP while real peers (a pty R2000
reader, a pty scanner, a Modbus TCP shelf controller, mosquitto) work and fail under it; and
`rxedge status` run as a process against it."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker
from edge.service.metrics_scrape import Scrape, parse, quantile, rate, scrape
from edge.settings.config import ConfigError, load_config, parse_config
from firmware_sim.r2000_sim import R2000Simulator
from firmware_sim.scanner_sim import ScannerSimulator
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator
from firmware_sim.tags import sgtin96
from tests.conftest import Subscriber, eventually

ROOT = Path(__file__).resolve().parents[2]
PACK = sgtin96("4012345", "012345", 1)
PREFIX = "rxedge/v1/s1/g1"


class Rig:
    def __init__(self, tmp_path: Path, broker: LocalBroker):
        self.tmp_path = tmp_path
        self.reader = R2000Simulator(link=tmp_path / "reader")
        self.scanner = ScannerSimulator(link=tmp_path / "scanner")
        self.shelf = ShelfControllerSimulator(slots=8)
        self.broker = broker
        self.gateway: Gateway | None = None
        self.task: asyncio.Task[None] | None = None

    def config(self) -> dict[str, object]:
        return {
            "site": "s1",
            "gateway": "g1",
            "database": str(self.tmp_path / "ledger.sqlite"),
            "create_database": True,
            "broker": {"url": self.broker.url},
            "presence": {"dwell_seconds": 0.5},
            "devices": {"down_alarm_seconds": 0.5},
            "metrics": {"listen": "127.0.0.1:0", "refresh_seconds": 0.1},
            "readers": [
                {"name": "r1", "port": self.reader.port, "antennas": {"1": "A-01", "2": "A-02"}}
            ],
            "scanners": [{"name": "desk", "port": self.scanner.port}],
            "shelves": [{"name": "A", "host": "127.0.0.1", "port": self.shelf.port, "slots": 8}],
        }

    @property
    def url(self) -> str:
        assert self.gateway is not None and self.gateway.metrics.url is not None
        return self.gateway.metrics.url

    async def scrape(self) -> Scrape:
        return await asyncio.to_thread(scrape, self.url)

    async def value(self, name: str, **labels: str) -> float | None:
        return (await self.scrape()).value(name, **labels)

    async def equals(self, expected: float, name: str, **labels: str) -> bool:
        return await self.value(name, **labels) == expected

    async def above(self, floor: float, name: str, **labels: str) -> bool:
        found = await self.value(name, **labels)
        return found is not None and found > floor

    async def stop_gateway(self) -> None:
        if self.gateway is not None and self.task is not None:
            self.gateway.stop()
            await asyncio.wait_for(self.task, 10)
            self.task = None


@pytest.fixture
async def rig(tmp_path: Path, broker: LocalBroker) -> AsyncIterator[Rig]:
    rig = Rig(tmp_path, broker)
    for peer in (rig.reader, rig.scanner, rig.shelf):
        await peer.start()
    rig.reader.place(1, PACK)
    rig.gateway = Gateway(parse_config(rig.config()), observer=lambda _activity: None)
    rig.task = asyncio.create_task(rig.gateway.run())
    await eventually(rig.gateway.ready.is_set)
    await eventually(lambda: rig.gateway and rig.gateway.metrics.url, what="the endpoint")
    yield rig
    await rig.stop_gateway()
    for peer in (rig.reader, rig.scanner, rig.shelf):
        await peer.stop()


async def all_up(rig: Rig) -> bool:
    found = await rig.scrape()
    ups = found.series("rxedge_device_up")
    return len(ups) == 3 and all(value == 1 for _, value in ups)


async def rxedge_status(*args: str) -> tuple[int, str]:
    """Run `rxedge status` as its own process: exit status and what it printed."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "edge.cli.main",
        "status",
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_metrics_follow_reads_devices_buttons_and_commits(
    rig: Rig, subscribe: Callable[..., Subscriber]
) -> None:
    await eventually(lambda: all_up(rig), what="every device up")
    before = await rig.scrape()
    await asyncio.sleep(0.5)
    after = await rig.scrape()
    assert (rate(before, after, "rxedge_tag_reads_total", reader="r1") or 0) > 0
    assert (rate(before, after, "rxedge_reader_rounds_total", reader="r1") or 0) > 0
    assert after.value("rxedge_reader_frames_total", reader="r1")
    assert after.value("rxedge_device_up", device="A", kind="shelf_controller") == 1
    [(info, _)] = after.series("rxedge_gateway_info")
    assert info["site"] == "s1" and info["gateway"] == "g1" and info["version"]
    assert after.value("rxedge_mqtt_connected") == 1
    assert after.value("process_resident_memory_bytes")
    assert after.value("rxedge_shelf_led_writes_total", controller="A")  # the first dark state
    assert after.value("rxedge_shelf_replies_discarded_total", controller="A") == 0
    documented = (ROOT / "docs" / "metrics.md").read_text()
    for name in after.samples:
        base = name.removesuffix("_bucket").removesuffix("_count").removesuffix("_sum")
        assert not base.startswith("rxedge_") or f"`{base}`" in documented, base

    await eventually(lambda: rig.value("rxedge_movements_total"), what="the pack booked in")
    commits = await rig.value("rxedge_ledger_commit_duration_seconds_count")
    assert commits and commits >= 1

    await rig.shelf.press(2, times=3)
    await eventually(
        lambda: rig.equals(3, "rxedge_button_presses_total", controller="A"),
        what="three presses counted",
    )
    rig.scanner.scan("not a pack")
    await eventually(
        lambda: rig.equals(1, "rxedge_barcode_scans_total", result="refused"),
        what="the refused scan",
    )
    rig.scanner.line.send(b"]d2\xb0\xb1\x30\r")  # 7 data bits with odd parity, read as 8
    await eventually(
        lambda: rig.equals(2, "rxedge_barcode_scans_total", result="refused"),
        what="the unreadable scan refused",
    )
    assert await rig.equals(
        1, "rxedge_scanner_unreadable_scans_total", scanner="desk", reason="undecodable"
    )

    centre = subscribe(f"{PREFIX}/cmd-result")
    centre.publish(f"{PREFIX}/cmd/pick", b"{not json")
    await eventually(lambda: rig.equals(1, "rxedge_commands_refused_total"), what="refused")
    assert await rig.equals(1, "rxedge_commands_received_total")
    await eventually(lambda: centre.payloads("/cmd-result"), what="the refusal sent")

    rig.reader.line.faults.garbage = 0.3  # junk between the reader's frames
    garbage = await rig.value("rxedge_reader_garbage_bytes_total", reader="r1") or 0
    await eventually(
        lambda: rig.above(garbage, "rxedge_reader_garbage_bytes_total", reader="r1"),
        what="garbage counted",
    )
    rig.reader.line.faults.garbage = 0.0
    bad = (await rig.scrape()).series("rxedge_reader_bad_frames_total")
    assert {labels["kind"] for labels, _ in bad} == {"checksum", "misframed", "gap", "malformed"}


async def test_outage_shows_in_alarms_outbox_and_link(rig: Rig) -> None:
    await eventually(lambda: all_up(rig), what="every device up")
    await eventually(lambda: rig.equals(0, "rxedge_outbox_pending_messages"))
    await rig.broker.stop()
    await eventually(lambda: rig.equals(0, "rxedge_mqtt_connected"), what="link down")

    unplugged = asyncio.create_task(rig.reader.line.unplug(2.0))
    await eventually(
        lambda: rig.equals(0, "rxedge_device_up", device="r1", kind="reader"),
        what="reader down",
    )
    await eventually(
        lambda: rig.equals(1, "rxedge_alarms_live", kind="device_down"),
        what="device-down alarm",
    )
    await eventually(lambda: rig.above(0, "rxedge_outbox_pending_messages"), what="alarm queued")
    await eventually(lambda: rig.above(0.3, "rxedge_outbox_oldest_age_seconds"))
    await unplugged

    await rig.broker.start()
    await eventually(lambda: rig.equals(1, "rxedge_mqtt_connected"), what="link back")
    await eventually(lambda: rig.equals(0, "rxedge_outbox_pending_messages"), what="outbox drained")
    await eventually(lambda: rig.equals(0, "rxedge_alarms_live", kind="device_down"))
    found = await rig.scrape()
    assert (found.value("rxedge_mqtt_reconnects_total") or 0) >= 1
    assert (found.value("rxedge_outbox_sent_total") or 0) >= 2  # raised, then cleared
    assert (found.value("rxedge_alarm_changes_total") or 0) >= 2
    published = found.value("rxedge_mqtt_publish_duration_seconds_count") or 0
    assert published >= 2
    # Rows wait in the outbox while the link is down (the age above shows it); the publish
    # latency counts from the moment they are handed to the broker.
    assert (found.value("rxedge_mqtt_publish_duration_seconds_sum") or 0) > 0


async def test_status_command_reports_and_exits_by_health(rig: Rig, tmp_path: Path) -> None:
    await eventually(lambda: all_up(rig), what="every device up")
    await eventually(lambda: rig.value("rxedge_movements_total"), what="the pack booked in")
    code, out = await rxedge_status("--metrics", rig.url)
    assert code == 0, out
    assert "gateway s1/g1" in out and "all is well" in out
    assert "devices: 3 up, 0 down" in out
    assert "reader r1:" in out and "reads/s" in out
    assert "mqtt: connected" in out and "ledger commit: p50" in out
    assert "publish to marked sent: p50" in out

    port = rig.url.rsplit(":", 1)[1].split("/")[0]
    config = tmp_path / "status.toml"
    config.write_text(f'site = "s1"\ngateway = "g1"\n[metrics]\nlisten = "127.0.0.1:{port}"\n')
    code, out = await rxedge_status("--config", str(config), "--json", "--interval", "0.5")
    assert code == 0, out
    report = json.loads(out)
    assert report["status"] == "ok" and report["problems"] == []
    assert report["readers"][0]["reader"] == "r1"
    assert report["readers"][0]["reads_per_second"] > 0
    assert report["outbox"]["pending"] == 0 and report["pick_lists_open"] == 0
    assert report["latency"]["commit"]["p99_seconds"] > 0

    await rig.shelf.stop()  # the controller unplugged
    await rig.broker.stop()
    refused = f"broker {rig.broker.url}: could not connect: [Errno 111] Connection refused"
    await eventually(lambda: rig.equals(0, "rxedge_mqtt_connected"), what="link down")
    await eventually(lambda: rig.equals(0, "rxedge_device_up", device="A", kind="shelf_controller"))
    await eventually(lambda: rig.equals(1, "rxedge_mqtt_connect_error_info", error=refused))
    [(down, _)] = (await rig.scrape()).series("rxedge_device_down_info")
    assert down["device"] == "A" and down["kind"] == "shelf_controller" and down["reason"]
    code, out = await rxedge_status("--metrics", rig.url, "--interval", "0")
    assert code == 1, out
    assert "NEEDS ATTENTION" in out
    assert f"  DOWN A                   shelf controller: {down['reason']}\n" in out
    assert f"shelf controller A is down: {down['reason']} (journalctl -u rxedge says more)" in out
    assert f"not connected to the MQTT broker: {refused}" in out

    url = rig.url
    await rig.stop_gateway()
    code, out = await rxedge_status("--metrics", url, "--interval", "0")
    assert code == 2, out
    assert "cannot reach" in out and "; is the daemon running? systemctl status rxedge" in out


async def test_status_needs_attention_while_an_antenna_has_no_good_round(rig: Rig) -> None:
    """A reader that answers but one of whose antennas fails every round leaves that slot
    unwatched: the device_down alarm is raised, and status must not call that well."""
    await eventually(lambda: all_up(rig), what="every device up")
    await eventually(
        lambda: rig.equals(1, "rxedge_antenna_up", reader="r1", antenna="2", slot="A-02")
    )
    rig.reader.missing_antennas.add(2)
    await eventually(
        lambda: rig.equals(0, "rxedge_antenna_up", reader="r1", antenna="2", slot="A-02")
    )
    assert await rig.equals(1, "rxedge_antenna_up", reader="r1", antenna="1", slot="A-01")
    code, out = await rxedge_status("--metrics", rig.url, "--interval", "0")
    assert code == 1, out
    assert "antenna 2 of reader r1 has had no good round: slot A-02 is not watched" in out
    assert "keeps failing" not in out, "it never read between failures"
    rig.reader.missing_antennas.clear()
    await eventually(lambda: rxedge_status_code(rig.url, 0), timeout=20, what="well again")


async def test_status_needs_attention_while_a_loop_is_stalled(rig: Rig) -> None:
    """A loop stuck on something (a hung PC/SC service under the badge loop, a driver that
    never comes round) stops the watchdog's pings; status must say so before systemd acts."""
    await eventually(lambda: all_up(rig), what="every device up")
    assert rig.gateway is not None
    beats = rig.gateway.beats
    beats.expect("test loop", 0.2)  # busy, and never coming round from here
    await eventually(lambda: rig.above(0.2, "rxedge_loop_stalled_seconds", loop="test loop"))
    code, out = await rxedge_status("--metrics", rig.url, "--interval", "0")
    assert code == 1, out
    assert "test loop has made no progress for" in out and "journalctl" in out
    beats.rest("test loop")  # waits for work: not a stall
    await eventually(lambda: rxedge_status_code(rig.url, 0), timeout=20, what="well again")


async def test_status_needs_attention_while_the_ledger_does_not_answer(rig: Rig) -> None:
    """A ledger held by another program (a long sqlite3 session, a stuck backup) books nothing:
    the figures read from it stop, and status must not call that well."""
    await eventually(lambda: all_up(rig), what="every device up")
    code, out = await rxedge_status("--metrics", rig.url, "--interval", "0")
    assert code == 0, out
    holder = sqlite3.connect(rig.tmp_path / "ledger.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        await eventually(lambda: rig.above(12, "rxedge_ledger_figures_age_seconds"), timeout=30)
        code, out = await rxedge_status("--metrics", rig.url, "--interval", "0")
        assert code == 1, out
        assert "- the ledger has not answered for 1" in out and "journalctl -u rxedge" in out
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    await eventually(lambda: rxedge_status_code(rig.url, 0), timeout=20, what="well again")


async def rxedge_status_code(url: str, expected: int) -> bool:
    code, _ = await rxedge_status("--metrics", url, "--interval", "0")
    return code == expected


async def test_status_without_a_daemon_or_with_metrics_off(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, out = await rxedge_status("--metrics", f"http://127.0.0.1:{port}/metrics", "--json")
    assert code == 2 and json.loads(out)["status"] == "unreachable"
    assert json.loads(out)["hint"] == "is the daemon running? systemctl status rxedge"
    config = tmp_path / "off.toml"
    config.write_text('site = "s1"\ngateway = "g1"\n[metrics]\nlisten = ""\n')
    code, out = await rxedge_status("--config", str(config))
    assert code == 2 and "metrics are off" in out


async def test_gateways_in_one_process_keep_their_own_metrics(tmp_path: Path) -> None:
    first = Gateway(parse_config({"site": "s1", "gateway": "g1", "database": str(tmp_path / "a")}))
    second = Gateway(parse_config({"site": "s1", "gateway": "g2", "database": str(tmp_path / "b")}))
    texts = [generate_latest(g.metrics.registry).decode() for g in (first, second)]
    assert 'gateway="g1"' in texts[0] and 'gateway="g2"' not in texts[0]
    assert 'gateway="g2"' in texts[1] and 'gateway="g1"' not in texts[1]


async def test_a_taken_port_leaves_the_gateway_running_without_metrics(
    tmp_path: Path, broker: LocalBroker, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = parse_config(
            {
                "site": "s1",
                "gateway": "g1",
                "database": str(tmp_path / "ledger.sqlite"),
                "create_database": True,
                "broker": {"url": broker.url},
                "metrics": {"listen": f"127.0.0.1:{port}"},
            }
        )
        gateway = Gateway(config, observer=lambda _activity: None)
        task = asyncio.create_task(gateway.run())
        with caplog.at_level(logging.ERROR, logger="edge.service.metrics"):
            await eventually(gateway.ready.is_set)
            await eventually(lambda: "cannot listen" in caplog.text, what="the error logged")
        assert gateway.metrics.url is None and not task.done()
        gateway.stop()
        await asyncio.wait_for(task, 10)


def test_config_section_and_example() -> None:
    example = load_config(ROOT / "config" / "gateway.example.toml")
    assert example.metrics.listen == "127.0.0.1:9464"
    assert parse_config({"site": "s", "gateway": "g", "metrics": {"listen": ""}}).metrics
    with pytest.raises(ConfigError, match=r"metrics\.listen: must be host:port"):
        parse_config({"site": "s", "gateway": "g", "metrics": {"listen": "9464"}})


def test_quantiles_from_buckets() -> None:
    found = parse(
        "# TYPE t histogram\n"
        't_bucket{le="0.01"} 50\nt_bucket{le="0.1"} 90\nt_bucket{le="1.0"} 100\n'
        't_bucket{le="+Inf"} 100\nt_sum 3\nt_count 100\n'
    )
    buckets = found.buckets("t")
    assert quantile(0.5, buckets) == pytest.approx(0.01)
    assert quantile(0.7, buckets) == pytest.approx(0.055)
    assert quantile(0.99, buckets) == pytest.approx(0.91)
    assert quantile(0.5, [(0.1, 0), (float("inf"), 0)]) is None
    assert quantile(0.99, [(0.1, 5), (float("inf"), 10)]) == pytest.approx(0.1)
