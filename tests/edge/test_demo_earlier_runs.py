"""`rxedge demo --broker` on a team broker where earlier runs were killed outright (SIGKILL, the
laptop's lid closed) or could not clear what they left: each name is used once, so no later run
would clear it, and dead gateways' alarms would pile up before every screen and clerk there.
Each run clears, at its start, what runs that run no more left (their retained messages, their
persistent sessions), says how many, and leaves alone a demo running beside it and everything
there that is not a demo run's."""

from __future__ import annotations

import asyncio
import shlex
import signal
import subprocess
import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.demo import run as demo_run
from edge.demo.broker_cleanup import clearing_command
from edge.demo.local_broker import LocalBroker
from edge.demo.run import Demo
from edge.service.stopping import run_stoppable
from edge.settings.config import parse_config
from sync.broker_url import MqttProtocol
from tests.edge.test_demo_endings import retained_under, session_kept
from tests.edge.test_demo_stop_windows import signalled_first

SITE = "demo-pharmacy"


class GatewayClient:
    """A gateway's MQTT client (client id as the demo's daemon has it), its session persistent
    as the daemon's is; `lost` is set if the broker drops the link (another took its id)."""

    def __init__(self, broker: LocalBroker, site: str, gateway: str, protocol: MqttProtocol):
        self.prefix = f"rxedge/v1/{site}/{gateway}"
        self.lost = threading.Event()
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        client_id = f"rxedge-{site}-{gateway}"
        if protocol == "3.1.1":
            self.client = mqtt.Client(
                CallbackAPIVersion.VERSION2, client_id, clean_session=False, protocol=mqtt.MQTTv311
            )
        else:
            self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id, protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda *_: self._connected.set()
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_disconnect = lambda *_: self.lost.set()
        if protocol == "3.1.1":
            self.client.connect("127.0.0.1", broker.port)
        else:
            kept = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            kept.SessionExpiryInterval = 3600
            self.client.connect("127.0.0.1", broker.port, clean_start=False, properties=kept)
        self.client.loop_start()
        assert self._connected.wait(10), f"{client_id}: no CONNACK"
        self.client.subscribe(f"{self.prefix}/cmd/#", qos=1)
        assert self._subscribed.wait(10), f"{client_id}: no SUBACK"

    def retain(self, status: str) -> dict[str, bytes]:
        """Retain its status, its shelf's lights and a raised alarm; what it retained."""
        held = {
            f"{self.prefix}/status": status.encode(),
            f"{self.prefix}/lights/A": b'{"A-07": "amber"}',
            f"{self.prefix}/alarms/shortage-08714789101234": b'{"state": "raised"}',
        }
        for topic, payload in held.items():
            self.client.publish(topic, payload, qos=1, retain=True).wait_for_publish(10)
        return held

    def leave(self) -> None:
        """Disconnect, the broker keeping its session (its subscription, what comes for it)."""
        self.lost.set()  # asked for, not lost
        self.client.disconnect()
        self.client.loop_stop()


def left_by_a_killed_run(broker: LocalBroker, gateway: str, protocol: MqttProtocol) -> None:
    """What a demo run killed outright leaves: its status "offline" (its Last Will), lights and
    an alarm retained, and its session, with a subscription and a command queued in it."""
    run = GatewayClient(broker, SITE, gateway, protocol)
    run.retain("offline")
    run.leave()
    centre = mqtt.Client(CallbackAPIVersion.VERSION2, "a-centre")
    centre.connect("127.0.0.1", broker.port)
    centre.loop_start()
    centre.publish(f"{run.prefix}/cmd/locate", b"{}", qos=1).wait_for_publish(10)
    centre.disconnect()
    centre.loop_stop()


@pytest.mark.timeout(180)
@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_a_demo_clears_what_killed_runs_left_and_nothing_of_a_running_one(
    own_broker: LocalBroker, protocol: MqttProtocol, capsys: pytest.CaptureFixture[str]
) -> None:
    for gateway in ("gw-abcdef", "gw-1"):  # a run of today's, and one from before run names
        left_by_a_killed_run(own_broker, gateway, protocol)
    running = GatewayClient(own_broker, SITE, "gw-123456", protocol)  # a demo beside this one
    untouched = running.retain("online")
    # Gateways that say "offline" but are no demo run's: a real gateway's name under the
    # demo's site, a run's name under another site, a name close to a run's.
    for site, gateway in [
        (SITE, "pharmacy-main"),
        ("city-pharmacy", "gw-abcdef"),
        (SITE, "gw-ABCDEF"),
    ]:
        other = GatewayClient(own_broker, site, gateway, protocol)
        untouched |= other.retain("offline")
        other.leave()
    try:
        asyncio.run(Demo(3, False, None, own_broker.url, plain=True, protocol=protocol).run())
        still_up = not running.lost.is_set()
    finally:
        running.leave()
    out = capsys.readouterr().out

    assert retained_under(own_broker, "rxedge/v1/#") == untouched, out
    for gateway in ("gw-abcdef", "gw-1"):
        assert not session_kept(own_broker, f"rxedge-{SITE}-{gateway}"), f"{gateway}'s session"
    assert still_up, "the running demo's gateway was thrown off the broker"
    assert session_kept(own_broker, f"rxedge-{SITE}-pharmacy-main"), "a real gateway's session"
    assert (
        "traces (retained messages, session) of 2 earlier demo run(s) there that run no more "
        "cleared: gw-1, gw-abcdef" in out
    ), out


def test_a_stop_while_earlier_runs_are_cleared_tidies_up_as_at_any_moment(
    own_broker: LocalBroker, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    left_by_a_killed_run(own_broker, "gw-abcdef", "5")
    clearing = signalled_first(demo_run.earlier_runs_cleared, signal.SIGTERM)
    monkeypatch.setattr(demo_run, "earlier_runs_cleared", clearing)
    status = run_stoppable(Demo(60, False, None, own_broker.url, plain=True).run())
    out, err = capsys.readouterr()

    assert status == 128 + signal.SIGTERM, out + err
    assert "Traceback" not in out + err, out + err
    summary = out.rpartition("\nsummary\n")[2]
    assert "stopped (Ctrl-C or a signal) during start-up" in summary, out + err
    assert "retained message(s) of the demo cleared" in summary, out + err


def test_the_command_printed_to_clear_by_hand_names_what_it_clears(
    own_broker: LocalBroker,
) -> None:
    config = parse_config({"site": SITE, "gateway": "gw-abcdef", "broker": {"url": own_broker.url}})
    left_by_a_killed_run(own_broker, "gw-abcdef", "5")
    printed = clearing_command(config)
    command, _, expect = printed.partition(" (")
    assert expect == 'it names each message it clears, then ends after 3 s saying "Timed out")'

    ran = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=30)

    prefix = f"rxedge/v1/{SITE}/gw-abcdef"
    assert sorted(ran.stdout.splitlines()) == [
        f"cleared {prefix}/alarms/shortage-08714789101234",
        f"cleared {prefix}/lights/A",
        f"cleared {prefix}/status",
    ], ran.stdout + ran.stderr
    assert ran.stderr.strip() == "Timed out", ran.stderr
    assert retained_under(own_broker, "rxedge/v1/#") == {}
