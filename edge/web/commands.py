"""The page's actions: the same commands the centre and the CLI send (`cmd/{name}` with the
envelope: a fresh message_id and an expiry), checked against the contract before they leave,
and the gateway's answer on `cmd-result` awaited for the person who clicked."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from typing import Any

from sync.commands import Refuse, parse_command, with_envelope
from sync.errors import PublishRefused
from sync.mqtt_client import answer_to
from sync.mqtt_session import MqttSession

COMMAND_TTL_SECONDS = 60.0  # a click is about now: a command delayed longer is refused
ANSWER_SECONDS = 5.0
SENT_REMEMBERED = 1000  # message ids this page sent, to tell a form sent again
ALREADY_SENT = (
    "Already done: this form was sent once already (a second tap, or the page sent again), "
    "so it is not carried out twice. The note from the first time says how it went; reload "
    "the page to act again."
)
# Commands the gateway answers under another command's name (docs/asyncapi.yaml): a cancel is
# told as the end of the list itself (`pick`, cancelled) or its error; the end of a delivery's
# put-away as the delivery closed (`putaway`, closed).
ANSWERED_AS = {
    "pick-cancel": ("pick", frozenset({"cancelled", "error"})),
    "putaway-end": ("putaway", frozenset({"closed", "error"})),
}


class CommandRefused(Exception):
    """Not sent, or refused by the broker or the gateway; the message says why."""


class AlreadySent(CommandRefused):
    """The same form was sent before (a second tap, a page sent again): the gateway answered
    this copy as a replay and did not carry it out again."""


class NoAnswerYet(Exception):
    """Sent, and not answered in time: the gateway may still carry it out until it expires."""


class CommandSender:
    """Sends commands on the page's MQTT session and hands each click the gateway's answer to
    its own message: the one naming it (`reply_to`, the message_id of the click's command).
    A late answer to an earlier click about the same thing names that click's message, so it
    is never taken for this one; two screens confirming one report at once are each told
    their own answer. An answer naming no message (a gateway from before `reply_to`) is
    matched as before, by command and the id it is filed under."""

    def __init__(self, session: MqttSession, command_topic: Any):
        self._session = session
        self._topic = command_topic  # name -> topic
        self._waiting: list[tuple[Callable[[dict[str, Any]], bool], asyncio.Future[Any]]] = []
        self._sent: OrderedDict[str, None] = OrderedDict()  # the newest SENT_REMEMBERED

    def on_result(self, payload: bytes) -> None:
        """A message on cmd-result (from the live feed)."""
        try:
            answer = json.loads(payload)
        except ValueError:
            return
        if not isinstance(answer, dict):
            return
        for wanted, future in self._waiting:
            if not future.done() and wanted(answer):
                future.set_result(answer)

    async def send(
        self,
        name: str,
        body: dict[str, Any],
        answer_id: str | None = None,
        message_id: str | None = None,
    ) -> dict[str, Any]:
        """Send `cmd/{name}` (as message `message_id`, a fresh one when None) and return the
        gateway's first answer to it (from a gateway that names no message: the first filed
        under `answer_id`; None: the first to a command of that name); AlreadySent when this
        message was sent before, CommandRefused when it is not sent or refused, NoAnswerYet
        when it is not answered in time."""
        message = with_envelope(body, ttl_seconds=COMMAND_TTL_SECONDS)
        if message_id is not None:
            # Only an id as the page draws it (a UUID): a chosen one could take an id the centre
            # is about to send, and the gateway would refuse the centre's command as a replay.
            if not is_form_id(message_id):
                raise CommandRefused(f"the form's id {message_id!r} is not one; reload the page")
            message["message_id"] = message_id
        message_id = str(message["message_id"])
        # Sent again: only the gateway's refusal of the copy answers it (the message's own
        # answer is the first sending's), even while the first still waits for it.
        again = message_id in self._sent
        wanted = partial(_answers, name, answer_id, message_id, again)
        payload = json.dumps(message)
        checked = parse_command(name, payload.encode())
        if isinstance(checked, Refuse):
            raise CommandRefused(checked.error)
        if not self._session.connected.is_set():
            raise CommandRefused("the page is not connected to the gateway's broker; try again")
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        waiting = (wanted, future)
        self._waiting.append(waiting)
        self._remember(message_id)
        try:
            published = self._session.publish(self._topic(name), payload)
            answer = await answer_to(published, future, ANSWER_SECONDS)
        except PublishRefused as exc:
            if not again:  # it never left: sending it again is no copy
                self._sent.pop(message_id, None)
            raise CommandRefused(f"the broker refused {name}: {exc}") from None
        except TimeoutError:
            raise NoAnswerYet(
                f"No answer yet: {name} was sent, and the gateway did not answer within "
                f"{ANSWER_SECONDS:.0f} s. It may still carry it out in the next "
                f"{COMMAND_TTL_SECONDS:.0f} s: look again before repeating it; if the gateway "
                "is down, Health says so."
            ) from None
        finally:
            self._waiting.remove(waiting)
        if "replay_of" in answer:
            raise AlreadySent(ALREADY_SENT)
        if answer.get("status") in ("error", "duplicate"):
            raise CommandRefused(str(answer.get("error") or answer.get("status")))
        return answer

    def _remember(self, message_id: str) -> None:
        self._sent[message_id] = None
        self._sent.move_to_end(message_id)
        if len(self._sent) > SENT_REMEMBERED:
            self._sent.popitem(last=False)


def _answers(
    name: str, answer_id: str | None, message_id: str, again: bool, answer: dict[str, Any]
) -> bool:
    """Whether `answer` answers the message `message_id` (`cmd/{name}`, its answers filed
    under `answer_id`). The refusal of a copy (`replay_of`) answers the copy: the message
    itself drew its answer when it first came, and a copy (`again`) wants only that refusal."""
    if "replay_of" in answer:
        return bool(answer["replay_of"] == message_id)
    if again:
        return False
    if "reply_to" in answer:
        return bool(answer["reply_to"] == message_id)
    command = answer.get("command")
    other, statuses = ANSWERED_AS.get(name, (name, frozenset()))
    if command != name and (command != other or answer.get("status") not in statuses):
        return False
    return answer_id is None or answer.get("command_id") == answer_id


def is_form_id(value: str) -> bool:
    """Whether `value` is a form's one-time id as the page draws it: a UUID, written as
    `uuid.uuid4()` writes one."""
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False
