"""What the demo leaves on a broker of one's own (`rxedge demo --broker`), taken away at its end:
the messages retained under its gateway's topics (its status, its shelf's lights, its alarms),
which every screen and clerk subscribing later would be handed as the state of a real gateway,
and the gateway's persistent session, which the broker would otherwise keep for days (with
MQTT 3.1.1 for ever) and queue commands for. A run killed outright, or whose clearing failed,
leaves them under a name no later run takes: each run clears, at its start, what such earlier
runs left there."""

from __future__ import annotations

import asyncio
import re

from edge.settings.config import GatewayConfig
from sync.broker_refusal import OPTION_SETTINGS, BrokerLinkError
from sync.mqtt_session import MqttSession
from sync.topics import Topics

# The gateway names demo runs take on a broker of one's own: gw- and six hex digits, and gw-1,
# which every run took before each had a name of its own. Nothing else there is touched.
RUN_GATEWAY = re.compile(r"gw-(?:[0-9a-f]{6}|1)")


async def clear_demo_traces(config: GatewayConfig, timeout: float = 10.0) -> int:
    """Connect as the demo's gateway (its client id) with a clean session, which ends the one it
    kept; clear (an empty retained message) each message retained under its topics; disconnect.
    Run after the daemon stopped, or it would retain its state again. The number cleared."""
    everything = f"{Topics(config.site, config.gateway).prefix}/#"
    session = _clean_session(config, everything)
    await session.start()
    try:
        await session.until_connected(timeout, OPTION_SETTINGS)
        held = await session.retained(everything) or {}
        kept = [topic for topic, payload in held.items() if payload]
        clearing = [session.publish(topic, b"", retain=True) for topic in kept]
        await asyncio.wait_for(asyncio.gather(*clearing), timeout)
    finally:
        await session.stop()
    return len(kept)


async def clear_earlier_runs(config: GatewayConfig, timeout: float = 10.0) -> list[str]:
    """Clear (as `clear_demo_traces`) what the earlier demo runs on the broker that run no more
    left there: the gateways under the demo's site named as runs are (RUN_GATEWAY) whose
    retained status says "offline" (their Last Will, or their farewell); a running one's says
    "online", and is left alone. Run before this run's daemon starts (connected under its
    client id). The names of the gateways cleared."""
    statuses = Topics(config.site, "+").status
    session = _clean_session(config, statuses)
    await session.start()
    try:
        await session.until_connected(timeout, OPTION_SETTINGS)
        held = await session.retained(statuses) or {}
    finally:
        await session.stop()
    gone = sorted(
        gateway
        for topic, payload in held.items()
        if payload == b"offline"
        and RUN_GATEWAY.fullmatch(gateway := topic.split("/")[-2])
        and gateway != config.gateway
    )
    for gateway in gone:
        await clear_demo_traces(config.model_copy(update={"gateway": gateway}), timeout)
    return gone


async def earlier_runs_cleared(config: GatewayConfig) -> str:
    """Clear what earlier runs left (`clear_earlier_runs`); what was done, said for the demo."""
    try:
        gone = await clear_earlier_runs(config)
    except (BrokerLinkError, TimeoutError) as exc:
        return f"traces of earlier demo runs there NOT cleared ({exc or 'no answer'})"
    named = f": {', '.join(gone)}" if gone else ""
    return (
        f"traces (retained messages, session) of {len(gone)} earlier demo run(s) there that "
        f"run no more cleared{named}"
    )


async def own_traces_cleared(config: GatewayConfig) -> str:
    """Clear what this run left (`clear_demo_traces`); what was done, said for its summary."""
    try:
        cleared = await clear_demo_traces(config)
    except (BrokerLinkError, TimeoutError) as exc:
        return (
            f"its retained messages NOT cleared ({exc or 'no answer'}); to clear them: "
            f"{clearing_command(config)}"
        )
    return f"{cleared} retained message(s) of the demo cleared"


def clearing_command(config: GatewayConfig) -> str:
    """The command that clears by hand what `clear_demo_traces` would have (mosquitto's
    client; a broker that wants a user or a CA file wants its options too), with what it
    shows: it names each message it clears, and ends after 3 s saying "Timed out"."""
    everything = f"{config.broker.addresses[0].url}/{Topics(config.site, config.gateway).prefix}/#"
    return (
        f"mosquitto_sub -L '{everything}' --remove-retained --retained-only -F 'cleared %t' -W 3 "
        '(it names each message it clears, then ends after 3 s saying "Timed out")'
    )


def _clean_session(config: GatewayConfig, reads: str) -> MqttSession:
    """A session under `config`'s client id that the broker keeps nothing of (clean start,
    session expiry 0; 3.1.1: clean session), reading what is retained under `reads`."""
    return MqttSession(
        config.broker.addresses,
        config.client_id,
        persistent=False,
        security=config.broker.security(),
        protocol=config.broker.protocol,
        reads=[reads],
    )
