"""What the demo leaves on a broker of one's own (`rxedge demo --broker`), taken away at its end:
the messages retained under its gateway's topics (its status, its shelf's lights, its alarms),
which every screen and clerk subscribing later would be handed as the state of a real gateway,
and the gateway's persistent session, which the broker would otherwise keep for days and queue
commands for."""

from __future__ import annotations

import asyncio

from edge.settings.config import GatewayConfig
from sync.broker_refusal import OPTION_SETTINGS
from sync.mqtt_session import MqttSession
from sync.topics import Topics


async def clear_demo_traces(config: GatewayConfig, timeout: float = 10.0) -> int:
    """Connect as the demo's gateway (its client id) with a clean session, which ends the one it
    kept; clear (an empty retained message) each message retained under its topics; disconnect.
    Run after the daemon stopped, or it would retain its state again. The number cleared."""
    everything = f"{Topics(config.site, config.gateway).prefix}/#"
    session = MqttSession(
        config.broker.addresses,
        config.client_id,
        persistent=False,
        security=config.broker.security(),
        protocol=config.broker.protocol,
        reads=[everything],
    )
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


def clearing_command(config: GatewayConfig) -> str:
    """The command that clears by hand what `clear_demo_traces` would have (mosquitto's
    client; a broker that wants a user or a CA file wants its options too)."""
    everything = f"{config.broker.addresses[0].url}/{Topics(config.site, config.gateway).prefix}/#"
    return f"mosquitto_sub -L '{everything}' --remove-retained --retained-only -W 3"
