"""The procurement watch's links besides its requests: what it says on stderr when its broker
goes and when it is back (`tell_link`), and the session that follows the gateways' alarms for
news of the requests taken: made urgent or refused since (`AlarmsAndLink`,
edge.cli.procurement.alarm_news).

A watch without `--client-id` has no session at the broker: what was published while its link
was down is not kept for it. It says so at start (NO_SESSION_WARNING) and again at each return
(NOT_KEPT_WARNING), so that a clerk reading a live watch knows its gap.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Sequence

from sync.broker_security import BrokerSecurity
from sync.broker_url import BrokerAddress, MqttProtocol
from sync.mqtt_session import MqttSession
from sync.procurement_feed import RequestConsumer

# Said once a watch without a session of its own is subscribed: the broker keeps nothing for it.
NO_SESSION_WARNING = (
    "rxedge: warning: no --client-id, so no session: requests published while this watch is "
    "not running are not kept for it (give --client-id NAME to catch up on return)"
)
# Said by such a watch each time its link is back.
NOT_KEPT_WARNING = (
    "rxedge: warning: no --client-id, so no session: requests published while the link was "
    "down were not kept for this watch (give --client-id NAME to catch up on return)"
)


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def tell_link(consumer: RequestConsumer, kept: bool, quiet: Callable[[], bool]) -> None:
    """Say on stderr, once each time, that the link to the broker went (and that the watch is
    retrying) and that it is back; `kept`: the watch has a session, which keeps the requests
    meanwhile; `quiet`: nothing to say (the watch is stopping, or its session was taken over).
    Runs until cancelled. A link that went before it began (the watch busy starting while its
    broker went) is told at once."""
    while True:
        if not consumer.lost.is_set():
            await consumer.connected.wait()
            url = consumer.brokers.current.url  # the broker the link is up to
            await consumer.lost.wait()
        else:
            url = consumer.brokers.current.url
        if quiet():
            return
        meanwhile = (
            "requests published meanwhile wait in this watch's session"
            if kept
            else "requests published meanwhile are not kept for this watch"
        )
        say(f"rxedge: lost the broker {url}; retrying ({meanwhile})")
        await consumer.connected.wait()
        if quiet():
            return
        say(f"rxedge: connected again to {consumer.brokers.current.url}")
        if not kept:
            say(NOT_KEPT_WARNING)


class AlarmsAndLink:
    """What runs beside the watch's requests: a session of its own (`client_id`, kept when
    `persistent`) handing each alarm message of `subscription` to `on_alarm` (the retained
    states at every connect, then each change), and `tell_link` about the requests' link."""

    def __init__(
        self,
        brokers: Sequence[BrokerAddress],
        client_id: str,
        persistent: bool,
        subscription: str,
        on_alarm: Callable[[str, bytes], None],
        security: BrokerSecurity,
        protocol: MqttProtocol,
    ):
        self.kept = persistent
        self.subscription = subscription
        self.alarms = MqttSession(
            brokers,
            client_id,
            subscriptions=[subscription],
            persistent=persistent,
            security=security,
            protocol=protocol,
            on_message=on_alarm,
        )
        self._started = False
        self._telling: asyncio.Task[None] | None = None

    async def start(self, consumer: RequestConsumer, quiet: Callable[[], bool]) -> None:
        """Begin telling of `consumer`'s link, and following the alarms (said on stderr once
        subscribed: their retained states come next)."""
        self._telling = asyncio.create_task(self._tell(consumer, quiet))
        self._started = True
        await self.alarms.start()

    async def _tell(self, consumer: RequestConsumer, quiet: Callable[[], bool]) -> None:
        async def following() -> None:
            await self.alarms.subscribed.wait()
            say(
                f"following {self.subscription} for requests made urgent or refused after they"
                " were sent"
            )

        await asyncio.gather(following(), tell_link(consumer, self.kept, quiet))

    async def stop(self) -> None:
        if self._telling is not None:
            self._telling.cancel()
            await asyncio.gather(self._telling, return_exceptions=True)
        if self._started:
            await self.alarms.stop()
