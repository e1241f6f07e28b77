"""The gateway's alarms as the broker holds them (retained on `alarms/{alarm_id}`), made to
match the ledger's live alarms on every connect.

A broker that crashed (kill -9, a power cut) comes back with what it last saved to disk, not
with all it had acknowledged: a clear it took may be gone and an older state back. The outbox
marked those messages sent and does not send them again. So at each connect the gateway reads
what the broker holds under its own `alarms/+` (a subscription of a moment, bounded in time:
`MqttSession.retained`) and asks the ledger for its live alarms. It then publishes the state of
each live alarm the broker holds otherwise, or not at all, and clears (an empty retained
message) each alarm the broker holds that is not live. An alarm with a message still waiting
in the outbox is left to the outbox: that message is its newest state, and goes out after.

The `storage` alarm of a ledger that cannot be written lives only at the broker while writes
fail (edge.daemon.storage_guard): then it counts as live. One the broker holds from an earlier
run stopped before the disk had room is not cleared at once: its outage is written to the
ledger (its raise and clear), and the clear goes out once the ledger takes that write.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from edge.daemon.activity import Activity, Observer
from edge.daemon.storage_guard import STORAGE_ALARM, StorageGuard
from inventory.alarms.lifecycle import Alarm
from inventory.changes import Change
from inventory.keeper import InventoryKeeper
from inventory.ledger.outbox import MessageKind
from sync.errors import PublishRefused
from sync.mqtt_session import MqttSession
from sync.topics import Topics

log = logging.getLogger(__name__)
# The ledger's live alarms and the ids of alarms with a message waiting in the outbox.
LedgerAlarms = tuple[list[Alarm], set[str]]
AskAlarms = Callable[[Callable[[InventoryKeeper], LedgerAlarms]], Awaitable[LedgerAlarms]]


def ledger_alarms(keeper: InventoryKeeper) -> LedgerAlarms:
    """Live alarms and the alarms whose newest state waits in the outbox, read together."""
    return keeper.alarms.live(), keeper.outbox.waiting_keys(MessageKind.ALARM)


class RetainedAlarms:
    """Call `due()` on every connect; `run()` (a task) then puts the broker's alarms right."""

    def __init__(
        self,
        topics: Topics,
        session: Callable[[], MqttSession | None],
        ask: AskAlarms,
        storage: StorageGuard,
        submit: Callable[[Change], Awaitable[None]],
        observe: Observer,
    ):
        self._topics = topics
        self._session = session
        self._ask = ask
        self._storage = storage
        self._submit = submit
        self._observe = observe
        self._due = asyncio.Event()
        self.rounds = 0  # reconciliations done

    def due(self) -> None:
        """The link came up (again)."""
        self._due.set()

    async def run(self) -> None:
        """Reconcile after each connect, until cancelled."""
        while True:
            await self._due.wait()
            self._due.clear()
            session = self._session()
            if session is not None and session.connected.is_set():
                await self.reconcile(session)
                self.rounds += 1

    async def reconcile(self, session: MqttSession) -> None:
        """Make the broker's retained alarms of this gateway those the ledger holds live."""
        held = await session.retained(self._topics.alarms)
        if held is None:
            log.warning(
                "could not read the alarms the broker %s holds (its ACL must let the gateway"
                " read %s): the live ones are sent again, none is cleared",
                session.broker.url,
                self._topics.alarms,
            )
        live, waiting = await self._ask(ledger_alarms)
        # From here to the last publish nothing is awaited: a state the ledger takes meanwhile
        # reaches the outbox, and the broker, after these.
        if (outage := self._storage.raised) is not None:
            live = [a for a in live if a.id != outage.id] + [outage]
        states = {a.id: a.payload().encode() for a in live if a.id not in waiting}
        held = held or {}
        sent = [i for i, state in states.items() if held.get(self._topics.alarm(i)) != state]
        for alarm_id in sent:
            self._publish(session, alarm_id, states[alarm_id])
        live_ids = {a.id for a in live} | waiting
        stale = {t.rsplit("/", 1)[-1]: p for t, p in held.items() if p}
        stale = {i: p for i, p in stale.items() if i not in live_ids}
        for alarm_id in stale:
            if alarm_id != STORAGE_ALARM:
                self._publish(session, alarm_id, b"")
        if sent or stale:
            self._observe(
                Activity(
                    "sync",
                    f"alarms at the broker put right: {len(sent)} live sent again, "
                    f"{len(stale)} no longer live cleared",
                )
            )
        if STORAGE_ALARM in stale:
            await self._submit(self._storage.told_before(stale[STORAGE_ALARM]))

    def _publish(self, session: MqttSession, alarm_id: str, payload: bytes) -> None:
        sent = session.publish(self._topics.alarm(alarm_id), payload, retain=True)
        sent.add_done_callback(_refused)


def _refused(sent: asyncio.Future[int]) -> None:
    if not sent.cancelled() and isinstance(error := sent.exception(), PublishRefused):
        log.warning("the broker refused an alarm's state: %s", error)
