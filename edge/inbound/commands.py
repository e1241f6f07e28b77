"""Messages from the centre, on the daemon's loop: let in (rate, expiry, replay), checked
against the contract, then handed to the stocktake flow or, as changes, to the ledger's writer.
Whatever is refused is answered on `cmd-result` and changes nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from edge.clock import Clock
from edge.daemon.stocktake_flow import StocktakeFlow
from edge.inbound.admission import Admission
from edge.settings.config import GatewayConfig
from inventory.changes import Change, ConfirmStocktake, Refuse, RememberCommand
from inventory.ledger.commit import iso
from sync.commands import StocktakeEnd, StocktakeStart, parse_received
from sync.status_updates import parse_status_update
from sync.topics import Topics


class InboundCommands:
    """`on_message` is the MQTT session's handler for cmd/+ and procurement/status."""

    def __init__(
        self,
        config: GatewayConfig,
        topics: Topics,
        submit: Callable[[Change], None],
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
        self._submit = submit
        self._stocktake = stocktake
        self._badge_holder = badge_holder
        self._counters = counters
        self._clock = clock

    def on_message(self, topic: str, payload: bytes) -> None:
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
        self._submit(RememberCommand(received.message_id, name, iso(received.expires_at)))
        command = received.command
        if isinstance(command, StocktakeStart):
            self._stocktake.start(command.shelf, command.by or self._badge_holder())
        elif isinstance(command, StocktakeEnd):
            self._stocktake.end(command.stocktake_id)
        elif isinstance(command, ConfirmStocktake):
            self._stocktake.confirm(command.stocktake_id, command.by)
        else:
            self._submit(command)  # a change the ledger carries out

    def _refuse(self, command: str, answer_id: str, error: str) -> None:
        self._counters["commands_refused"] += 1
        self._submit(Refuse(command, answer_id, error))
