"""Messages from the centre, on the daemon's loop: let in (rate, expiry, replay), checked
against the contract, then handed to the stocktake flow or, as changes, to the ledger's writer.
Whatever is refused is answered on `cmd-result` and changes nothing.

A message is acknowledged to the broker only once everything it led to is written (its
answer, the command and its id, remembered in the same transaction): a crash, a restart or a
full disk before that leaves it with the broker, which hands it over again.

Messages are taken in the order they came, at most at the command rate (`commands`
`rate_per_second`, `burst`; commands and the centre's answers each have a bucket): one over it
waits its turn, not yet acknowledged, instead of being dropped. A gateway back from an outage
gets the commands and answers sent meanwhile at once, and each is carried out or answered; a
flood is slowed to the rate, and the broker holds back what it has sent and not yet had
acknowledged, so the flood waits at the broker, not here.

Only this gateway's own topics are taken: `cmd/{name}` and `procurement/status` under its prefix.
A message on another gateway's topic reaches this one only through a session shared with that
gateway (both connect with one client id: sync.broker_refusal.SessionTakeover), whose
subscriptions the broker keeps together. It is never carried out nor answered. Until the
session has held as this gateway's alone (a takeover goes on, or none is ruled out yet) it is
left unacknowledged: the broker hands it over again on the session's next link, which may be
that gateway's. Then it is acknowledged and dropped, and the subscriptions the other left in
the session are removed: left unacknowledged, such messages would hold up this gateway's own
at the broker."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from functools import partial

from edge.clock import Clock
from edge.daemon.stocktake_flow import StocktakeFlow
from edge.inbound.admission import Admission, TokenBucket
from edge.settings.config import GatewayConfig
from inventory.changes import Answering, Change, ConfirmStocktake, Refuse, RememberCommand
from inventory.ledger.commit import iso
from inventory.picking.lists import PickRequest
from inventory.putaway.sessions import Notice
from sync.commands import StocktakeEnd, StocktakeStart, parse_received
from sync.mqtt_session import Delivery
from sync.status_updates import named_ids, parse_status_update
from sync.topics import Topics

log = logging.getLogger(__name__)


class InboundCommands:
    """`on_delivery` is the MQTT session's handler for cmd/+ and procurement/status. `offer`
    queues a change for the ledger (False: the queue is full, it was dropped); `when_written`
    runs a callback once all that is queued is written; `ack` acknowledges a delivery (true
    when it could); `alone` says whether the session has held as this gateway's alone (no
    other client takes it over); `unsubscribe` drops a subscription from the session;
    `badge_holder` names who sweeps a shelf when a stocktake-start names nobody."""

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
        alone: Callable[[], bool] = lambda: True,
        unsubscribe: Callable[[str], object] = lambda _filter: None,
    ):
        limits = config.commands
        self.admission = Admission(
            limits.rate_per_second, limits.burst, limits.max_expiry_seconds, clock.monotonic
        )
        # The centre's answers have a bucket of their own: a flood of commands does not hold
        # up the answers that move requests along, nor the other way round.
        self._answer_rate = TokenBucket(limits.rate_per_second, limits.burst, clock.monotonic)
        self._in_turn: asyncio.Queue[Delivery] = asyncio.Queue()
        self._topics = topics
        self._offer = offer
        self._when_written = when_written
        self._ack = ack
        self._alone = alone
        self._unsubscribe = unsubscribe
        self._client_id = config.client_id
        self._not_ours: list[Delivery] = []  # left unacknowledged until the session holds
        self._open = 0  # messages taken in, not yet carried out (or given up on)
        self._stirred_at: float | None = None  # when one last came or was carried out
        self._kept = True  # every change of the message at hand was queued
        self._stocktake = stocktake
        self._badge_holder = badge_holder
        self._counters = counters
        self._clock = clock
        self._putaway_scanners = [s.name for s in config.scanners if s.role == "putaway"]
        # What confirms picks: a picking scanner, or a handheld reader.
        self._pick_scanners = [s.name for s in config.scanners if s.role == "picking"] + [
            r.name for r in config.readers if r.role == "handheld"
        ]

    def on_delivery(self, delivery: Delivery) -> None:
        """Take a message in: it waits its turn (`take_in_turn`). One on another gateway's
        topic is not taken (see the module's text)."""
        topics, topic = self._topics, delivery.topic
        if topic == topics.procurement_status or topic.rpartition("/")[0] == f"{topics.prefix}/cmd":
            self._stir(1)
            self._in_turn.put_nowait(delivery)
        elif not self._alone():
            log.warning(
                "not carried out: a message on %s, %s, reached this gateway through its MQTT"
                " session, shared with another client using client id %s; left unacknowledged,"
                " for the broker to hand over on the session's next link",
                topic,
                self._whose(topic),
                self._client_id,
            )
            # Only those of the latest link can be acknowledged; the others come again.
            self._not_ours = [d for d in self._not_ours if d.link == delivery.link]
            self._not_ours.append(delivery)
        else:
            self._drop(delivery)

    def quiet_for(self) -> float:
        """Seconds since a message last came in or was carried out, none waiting meanwhile (in
        turn, for the rate, or for what it led to to be written); 0 while one waits."""
        if self._open:
            return 0.0
        if self._stirred_at is None:
            return float("inf")
        return self._clock.monotonic() - self._stirred_at

    def _stir(self, opened: int) -> None:
        self._open += opened
        self._stirred_at = self._clock.monotonic()

    def _carried_out(self, delivery: Delivery) -> None:
        self._ack(delivery)
        self._stir(-1)

    def session_held(self) -> None:
        """The session has held as this gateway's alone: what was left unacknowledged for
        another gateway is dropped now (that gateway has a session of its own, or is gone)."""
        left, self._not_ours = self._not_ours, []
        for delivery in left:
            self._drop(delivery)

    def _drop(self, delivery: Delivery) -> None:
        """Remove the subscriptions to another gateway's topics left in the session, and
        acknowledge the message that came through one (unless its link is gone: it comes
        again)."""
        own = self._own(delivery.topic)  # its own request, say: its subscriptions are kept
        other = None if own else Topics.of(delivery.topic)
        for topic_filter in () if other is None else (other.commands, other.procurement_status):
            self._unsubscribe(topic_filter)
        if self._ack(delivery):
            log.warning(
                "not carried out: a message on %s, %s, came through a subscription that a"
                " client using this gateway's client id (%s) left in its MQTT session; %s",
                delivery.topic,
                self._whose(delivery.topic),
                self._client_id,
                "dropped" if own else "dropped, and that gateway's subscriptions removed",
            )

    def _own(self, topic: str) -> bool:
        """Whether `topic` is one of this gateway's (under its prefix)."""
        topics = Topics.of(topic)
        return topics is not None and topics.prefix == self._topics.prefix

    def _whose(self, topic: str) -> str:
        """Whose topic a message not taken came on, as its log line says it."""
        if self._own(topic):
            return "a topic of this gateway's that takes no command"
        return "another gateway's topic"

    async def take_in_turn(self) -> None:
        """Handle the messages in the order they came, each once its bucket allows (not yet
        acknowledged while it waits, so the broker keeps it should the gateway stop), and
        acknowledge each once what it led to is written. One whose change could not be queued
        (the ledger's queue full) is not acknowledged: the broker hands it over again on the
        next connection."""
        while True:
            delivery = await self._in_turn.get()
            answer = delivery.topic == self._topics.procurement_status
            bucket = self._answer_rate if answer else self.admission.bucket
            while not bucket.take():
                await asyncio.sleep(1 / bucket.rate)
            self._take(delivery, self._answer if answer else self._command)

    def _take(self, delivery: Delivery, handle: Callable[[bytes, str], None]) -> None:
        self._kept = True
        self._counters["commands"] += 1
        handle(delivery.payload, delivery.topic.rsplit("/", 1)[-1])
        if self._kept:
            self._when_written(partial(self._carried_out, delivery))
        else:
            self._stir(-1)  # left with the broker, which hands it over again

    def _answer(self, payload: bytes, _name: str) -> None:
        """Check an answer on procurement/status and queue it for the ledger."""
        update = parse_status_update(payload)
        if isinstance(update, str):
            request_id, message_id = named_ids(payload)
            self._refuse("procurement-status", request_id, update, message_id)
        else:
            self._submit(update)

    def _command(self, payload: bytes, name: str) -> None:
        """Let a command in, check it, queue the changes it leads to. Every answer to it names
        the message (its `message_id`) whenever that could be read."""
        received = parse_received(name, payload)
        if isinstance(received, Refuse):
            self._counters["commands_refused"] += 1
            self._submit(received)
            return
        message_id = received.message_id
        again = message_id in self.admission.seen
        problem = self.admission.check(message_id, received.expires_at, self._clock.now())
        if problem is not None:
            # A copy of a message already let in (the broker delivering it again, a sender's
            # link broken before its PUBACK) is refused naming it by `replay_of`, not
            # `reply_to`: its sender has, or had, the answer to the message itself.
            copy = {"replay_of": message_id} if again else {"message_id": message_id}
            self._refuse(name, received.answer_id, problem, **copy)
            return
        remember = RememberCommand(message_id, name, iso(received.expires_at))
        command = received.command
        if isinstance(command, Notice) and command.scanner not in ("", *self._putaway_scanners):
            # Worked nowhere, it would wait for ever while its packs went elsewhere.
            known = ", ".join(repr(n) for n in self._putaway_scanners) or "none configured"
            error = (
                f"scanner {command.scanner!r} is not a put-away scanner; name one of {known}"
                ' (a [[scanners]] entry with role = "putaway") or leave scanner out'
            )
            self._refuse(name, command.delivery_id, error, message_id)
            return
        if isinstance(command, PickRequest) and command.scanner not in ("", *self._pick_scanners):
            # Its scans would go to no list, or put packs away: the list would never be picked.
            known = ", ".join(repr(n) for n in self._pick_scanners) or "none configured"
            error = (
                f"scanner {command.scanner!r} does not confirm picks; name one of {known} (a "
                '[[scanners]] entry with role = "picking", or a [[readers]] entry with role = '
                '"handheld") or leave scanner out'
            )
            self._refuse(name, command.pick_id, error, message_id)
            return
        # The stocktake flow's work is its own: the id is remembered after it (a crash between
        # them: the broker hands the command over again and it is carried out again).
        if isinstance(command, StocktakeStart):
            by = command.by or self._badge_holder()
            self._stocktake.start(command.shelf, by, message_id=message_id)
        elif isinstance(command, StocktakeEnd):
            self._stocktake.end(command.stocktake_id, message_id=message_id)
        elif isinstance(command, ConfirmStocktake):
            self._stocktake.confirm(command.stocktake_id, command.by, message_id)
        else:
            remember = replace(remember, then=command)  # a change the ledger carries out
        self._submit(Answering(message_id, name, received.answer_id, remember))
        if not self._kept:  # not queued: when the broker hands it over again, it is no replay
            self.admission.seen.pop(message_id, None)

    def _submit(self, change: Change) -> None:
        self._kept = self._offer(change) and self._kept

    def _refuse(
        self, command: str, answer_id: str, error: str, message_id: str = "", replay_of: str = ""
    ) -> None:
        self._counters["commands_refused"] += 1
        self._submit(Refuse(command, answer_id, error, message_id, replay_of))
