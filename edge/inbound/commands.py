"""Messages from the centre, on the daemon's loop: let in (rate, expiry, replay), checked
against the contract, then handed to the stocktake flow or, as changes, to the ledger's writer.
Whatever is refused is answered on `cmd-result` and changes nothing.

A message is acknowledged to the broker only once everything it led to is written (its
answer, the command and its id, remembered in the same transaction): a crash, a restart or a
full disk before that leaves it with the broker, which hands it over again."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from functools import partial

from edge.clock import Clock
from edge.daemon.stocktake_flow import StocktakeFlow
from edge.inbound.admission import Admission
from edge.settings.config import GatewayConfig
from inventory.changes import Change, ConfirmStocktake, Refuse, RememberCommand
from inventory.ledger.commit import iso
from sync.commands import StocktakeEnd, StocktakeStart, parse_received
from sync.mqtt_session import Delivery
from sync.status_updates import parse_status_update
from sync.topics import Topics


class InboundCommands:
    """`on_delivery` is the MQTT session's handler for cmd/+ and procurement/status. `offer`
    queues a change for the ledger (False: the queue is full, it was dropped); `when_written`
    runs a callback once all that is queued is written; `ack` acknowledges a delivery."""

    def __init__(
        self,
        config: GatewayConfig,
        topics: Topics,
        offer: Callable[[Change], bool],
        when_written: Callable[[Callable[[], object]], None],
        ack: Callable[[Delivery], object],
        stocktake: StocktakeFlow,
        badge_holder: Callable[[], str],
        counters: Counter[str],
        clock: Clock,
    ):
        limits = config.commands
        self.admission = Admission(
            limits.rate_per_second, limits.burst, limits.max_expiry_seconds, clock.monotonic
        )
        self._topics = topics
        self._offer = offer
        self._when_written = when_written
        self._ack = ack
        self._kept = True  # every change of the message at hand was queued
        self._stocktake = stocktake
        self._badge_holder = badge_holder
        self._counters = counters
        self._clock = clock

    def on_delivery(self, delivery: Delivery) -> None:
        """Handle a message; acknowledge it once what it led to is written. One whose change
        could not be queued (the ledger's queue full) is not acknowledged: the broker keeps
        it and hands it over again on the next connection."""
        self._kept = True
        self._handle(delivery.topic, delivery.payload)
        if self._kept:
            self._when_written(partial(self._ack, delivery))

    def _handle(self, topic: str, payload: bytes) -> None:
        """Let a message in, check it, queue the changes it leads to."""
        self._counters["commands"] += 1
        name = topic.rsplit("/", 1)[-1]
        if self.admission.over_rate():
            self._counters["commands_dropped"] += 1
            if self.admission.may_answer_refusal():
                self._refuse(name, "", "too many commands; some were dropped, send fewer")
            return
        if topic == self._topics.procurement_status:
            update = parse_status_update(payload)
            if isinstance(update, str):
                self._refuse("procurement-status", "", update)
            else:
                self._submit(update)
            return
        received = parse_received(name, payload)
        if isinstance(received, Refuse):
            self._refuse(received.command, received.command_id, received.error)
            return
        problem = self.admission.check(received.message_id, received.expires_at, self._clock.now())
        if problem is not None:
            self._refuse(name, received.answer_id, problem)
            return
        remember = RememberCommand(received.message_id, name, iso(received.expires_at))
        command = received.command
        # The stocktake flow's work is its own: the id is remembered after it (a crash between
        # them: the broker hands the command over again and it is carried out again).
        if isinstance(command, StocktakeStart):
            self._stocktake.start(command.shelf, command.by or self._badge_holder())
        elif isinstance(command, StocktakeEnd):
            self._stocktake.end(command.stocktake_id)
        elif isinstance(command, ConfirmStocktake):
            self._stocktake.confirm(command.stocktake_id, command.by)
        else:
            remember = replace(remember, then=command)  # a change the ledger carries out
        self._submit(remember)

    def _submit(self, change: Change) -> None:
        self._kept = self._offer(change) and self._kept

    def _refuse(self, command: str, answer_id: str, error: str) -> None:
        self._counters["commands_refused"] += 1
        self._submit(Refuse(command, answer_id, error))
