"""What each lasting refusal says, in the words of the configuration and of the options; waiting
for a link that comes and goes."""

from __future__ import annotations

import asyncio

from sync.broker_refusal import (
    CONFIG_SETTINGS,
    OPTION_SETTINGS,
    BrokerRefusal,
    Refused,
    classify,
    until_set_or_refused,
)

URL = "mqtt://10.0.0.5:1883"


def test_a_protocol_refusal_names_the_other_version_to_set() -> None:
    for protocol, other in (("5", "3.1.1"), ("3.1.1", "5")):
        refusal = classify(URL, protocol, 0x84, "Unsupported protocol version")  # type: ignore[arg-type]
        assert refusal is not None and refusal.what is Refused.PROTOCOL
        assert refusal.message(CONFIG_SETTINGS) == (
            f"broker {URL} refused MQTT {protocol} (unsupported protocol version): "
            f'set broker.protocol = "{other}"'
        )
        assert refusal.message(OPTION_SETTINGS).endswith(f"use --mqtt-protocol {other}")


def test_a_client_id_refusal_points_at_the_client_id() -> None:
    refusal = classify(URL, "3.1.1", 0x85, "Client identifier not valid")
    assert refusal is not None
    assert refusal.message(CONFIG_SETTINGS).startswith(
        f"broker {URL} refused the client id (client identifier not valid): set broker.client_id"
    )
    assert "--client-id" in refusal.message(OPTION_SETTINGS)


def test_a_busy_or_unavailable_broker_is_worth_retrying() -> None:
    assert classify(URL, "5", 0x88, "Server unavailable") is None
    assert classify(URL, "5", 0x89, "Server busy") is None


class Link:
    def __init__(self) -> None:
        self.refused = asyncio.Event()
        self.refusal: BrokerRefusal | None = None


async def test_a_link_dropped_as_soon_as_it_was_taken_is_waited_for_again() -> None:
    """A broker that takes the link and drops it at once (set and cleared before the waiter
    wakes): with no time limit the wait goes on (it ended as 'no broker answered within 0 s',
    which ended the daemon), and ends when the link holds."""
    reached, link = asyncio.Event(), Link()
    waiting = asyncio.create_task(until_set_or_refused(reached, link, CONFIG_SETTINGS, None))
    for _ in range(10):  # the waiter is waiting
        await asyncio.sleep(0)
    reached.set()
    reached.clear()
    for _ in range(10):  # let the waiter wake and look
        await asyncio.sleep(0)
    assert not waiting.done()
    reached.set()
    assert await asyncio.wait_for(waiting, 1.0) is True


async def test_a_wait_with_a_limit_still_ends_at_its_limit() -> None:
    reached, link = asyncio.Event(), Link()
    waiting = asyncio.create_task(until_set_or_refused(reached, link, CONFIG_SETTINGS, 0.2))
    for _ in range(10):
        await asyncio.sleep(0)
    reached.set()
    reached.clear()
    assert await asyncio.wait_for(waiting, 2.0) is False
