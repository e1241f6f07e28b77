"""A readable account of what the gateway does, for the demo and the logs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sync.broker_refusal import CONFIG_SETTINGS, BrokerRefused
from sync.mqtt_session import MqttSession


@dataclass(frozen=True, slots=True)
class Activity:
    """One thing that happened: `kind` for filtering ("movement", "alarm", "request", "device",
    "led", "sync", "button", "pick", "mistake", "refusal": a command answered with an error),
    `text` for people, `level` how it is logged (a device down is a warning)."""

    kind: str
    text: str
    level: int = logging.INFO


Observer = Callable[[Activity], None]


def log_activity(activity: Activity) -> None:
    """The default observer: activity goes to the log, on a logger per kind
    (edge.daemon.activity.movement, edge.daemon.activity.sync, ...), so that the repeat limit
    of the logs bounds each kind on its own: a busy shelf's movements never hide the broker's
    return."""
    logging.getLogger(f"edge.daemon.activity.{activity.kind}").log(
        activity.level, "%s", activity.text
    )


async def report_link(
    session: MqttSession, observe: Observer, connected: Callable[[], None]
) -> None:
    """Tell each time the link to the broker comes and goes (`connected` is called on each
    connect; not told while another client takes the session over, which the session and the
    broker link's alarm tell), and once (as an error too) that the broker refuses the gateway
    for a reason retrying will not cure, naming the setting that fixes it. Retrying goes on all
    the same: the broker's accounts may change."""
    while True:
        try:
            await session.until_connected(None, CONFIG_SETTINGS)
        except BrokerRefused as refused:
            logging.getLogger(__name__).error("%s", refused)
            observe(Activity("sync", str(refused)))
            await session.connected.wait()
        connected()
        told = not session.takeover.taken_over.is_set()
        if told:
            observe(Activity("sync", f"connected to {session.broker.url}"))
        while session.connected.is_set():
            await asyncio.sleep(0.2)
        if told:
            observe(Activity("sync", f"lost {session.broker.url}; retrying"))
