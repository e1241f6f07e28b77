"""paho clients for MQTT 5 or 3.1.1, made and connected the same way by every session.

What differs between the two is kept here: MQTT 5 asks at connect for a session that outlives
the connection (clean start off, a session expiry); 3.1.1 fixes it when the client is made
(clean session off) and has no expiry to ask for.
"""

from __future__ import annotations

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from sync.broker_refusal import MqttProtocol
from sync.broker_url import BrokerAddress, BrokerRotation

SESSION_EXPIRY_SECONDS = 7 * 24 * 3600


def make_client(
    client_id: str, protocol: MqttProtocol, persistent: bool, manual_ack: bool = False
) -> mqtt.Client:
    """A paho client for `protocol`; for 3.1.1 the session's persistence is fixed here (clean
    session off when `persistent`), for MQTT 5 at connect (`connect_properties`)."""
    if protocol == "3.1.1":
        return mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv311,
            clean_session=not persistent,
            manual_ack=manual_ack,
        )
    return mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
        manual_ack=manual_ack,
    )


def connect_async(
    client: mqtt.Client,
    broker: BrokerAddress,
    protocol: MqttProtocol,
    persistent: bool,
    keepalive: int,
) -> None:
    """Start connecting `client` to `broker` in the background. MQTT 5 asks for a session that
    outlives the connection by SESSION_EXPIRY_SECONDS; 3.1.1 has no expiry to ask for."""
    if protocol == "3.1.1":
        client.connect_async(broker.host, broker.port, keepalive=keepalive)
        return
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    if persistent:
        properties.SessionExpiryInterval = SESSION_EXPIRY_SECONDS
    client.connect_async(
        broker.host,
        broker.port,
        keepalive=keepalive,
        clean_start=not persistent,
        properties=properties,
    )


def fail_over(
    client: mqtt.Client,
    brokers: BrokerRotation,
    protocol: MqttProtocol,
    persistent: bool,
    keepalive: int,
) -> None:
    """After a lost link or a failed attempt (in paho's thread, from its callbacks), point the
    next attempt at the next broker; paho's back-off still spaces the attempts."""
    if len(brokers.brokers) > 1:
        connect_async(client, brokers.advance(), protocol, persistent, keepalive)
