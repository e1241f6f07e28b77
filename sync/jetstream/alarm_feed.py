"""The gateways' alarms as the centre's stream keeps them, read by a process that must miss
none the stream holds and take none of them from anyone else. (The stream is written after the
gateway was told a message arrived: one lost while a node is replaced never reaches it,
sync.jetstream.consumer_group.)

An alarm that names requests urgent (`detail.urgent_requests`) may be published while the
reader is away, and changed or cleared before it is back. So the reader reads the stream's
record of the alarms (`STREAM`, which keeps them 30 days whoever reads them: limits retention)
from its start at every start, then each change as it comes, through an ordered consumer: an
ephemeral push consumer the client makes again by itself after a gap (a node lost), which
acknowledges nothing and is deleted with the connection. Nothing is kept in the cluster for
the reader, nothing it reads is taken from another consumer, and no durable consumer of a
reader gone for good holds anything. (A durable consumer on the MQTT gateway's store would keep
each alarm there for a reader that may never come back; an ephemeral one there would lose what
was published while the reader was away: that store keeps a message only for a consumer.) What
the reader made of an alarm before is its own to remember.
"""

from __future__ import annotations

from collections.abc import Callable

from nats.aio.client import Client as Nats
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy

from sync.jetstream.consumer_group import STREAM
from sync.jetstream.link import NatsUnavailable
from sync.jetstream.subjects import alarm_subject, topic_of

OnAlarm = Callable[[str, bytes], None]


async def follow_alarms(
    nc: Nats, on_alarm: OnAlarm, subject: str = alarm_subject()
) -> JetStreamContext.PushSubscription:
    """Hand `on_alarm` each alarm message of `subject` the stream holds, oldest first, with its
    MQTT topic, then each one as it arrives, until the subscription is unsubscribed or the
    connection closed. NatsUnavailable when the cluster does not make the consumer."""

    async def handed(message: Msg) -> None:
        on_alarm(topic_of(message.subject), message.data)

    try:
        return await nc.jetstream().subscribe(
            subject,
            stream=STREAM,
            cb=handed,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.ALL,
        )
    except NatsError as exc:  # the cluster did not answer in time, or refused the consumer
        raise NatsUnavailable(f"cannot follow {subject} in stream {STREAM}: {exc}") from exc
