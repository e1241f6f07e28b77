"""When the link to the broker has settled, and the copies of requests sent again that wait for it.

A copy sent again tells the centre the gateway has no answer to the request. An answer the
clerk gave while the gateway was away (its link down, or the daemon stopped) waits in the
gateway's broker session: the broker hands it over after the gateway connects, at the pace the
gateway takes messages in (`commands` `rate_per_second`, `burst`), so a backlog of answers can
take longer than the link's hold (HOLD_SECONDS, sync.broker_refusal). The link has settled once
it has held AND the intake has been quiet for QUIET_SECONDS: no message came in or was carried
out, none waiting in turn, for the rate or to be written. Only then are requests looked at for
sending again (edge.daemon.gateway) and waiting copies handed to the MQTT client
(`copy_screen`), each only while its request is still unanswered; one no longer wanted is
dropped unsent (inventory.replenishment.resend.hand_over_copies)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from edge.inbound.commands import InboundCommands
from inventory.ledger.outbox import OutboxRow
from inventory.replenishment.resend import is_copy
from sync.mqtt_session import MqttSession
from sync.publisher import Screen

QUIET_SECONDS = 3.0


class SettledLink:
    """Whether the link has settled (calling it), and a wait for it (`wait`)."""

    def __init__(self, session: MqttSession, inbound: InboundCommands):
        self._session = session
        self._inbound = inbound

    def __call__(self) -> bool:
        held = self._session.takeover.held.is_set()
        return held and self._inbound.quiet_for() >= QUIET_SECONDS

    async def wait(self) -> None:
        """Until the link has settled."""
        while True:
            await self._session.takeover.held.wait()
            left = QUIET_SECONDS - self._inbound.quiet_for()
            if left <= 0:
                return
            await asyncio.sleep(left)


def copy_screen(
    settled: Callable[[], bool], hand_over: Callable[[list[int]], Awaitable[list[int]]]
) -> Screen:
    """The publisher's screen: copies of requests sent again held back until the link has
    settled, then handed over only as `hand_over` says (it marks them handed, drops the
    unwanted); every other row goes as it comes."""

    async def screen(rows: list[OutboxRow]) -> list[OutboxRow]:
        copies = {row.id for row in rows if is_copy(row)}
        if not copies:
            return rows
        going = set(await hand_over(sorted(copies))) if settled() else set()
        return [row for row in rows if row.id not in copies or row.id in going]

    return screen
