"""Where NATS's MQTT gateway keeps the gateways' messages, and which of them a consumer takes.

The MQTT gateway turns a topic into a subject level by level (``rxedge/v1/s/g/events`` ->
``rxedge.v1.s.g.events``) and keeps each QoS 1 message, before its PUBACK, in its own store
(`MQTT_STORE`) under that subject with `MQTT_PREFIX` before it. The store keeps a message only
while a consumer of it is to take it (interest retention): a message no consumer's filter takes
is deleted as it arrives.
"""

from __future__ import annotations

from nats.js.api import ConsumerConfig

from sync.topics import ROOT

MQTT_STORE = "$MQTT_msgs"  # NATS's MQTT gateway keeps each QoS 1 message here before its PUBACK
MQTT_PREFIX = "$MQTT.msgs."
SUBJECT_ROOT = ROOT.replace("/", ".")


def subject_of(topic: str) -> str:
    """The subject a QoS 1 message on MQTT `topic` is kept under in the MQTT gateway's store."""
    return MQTT_PREFIX + topic.replace("/", ".")


def topic_of(subject: str) -> str:
    """The MQTT topic a subject came from."""
    return subject.removeprefix(MQTT_PREFIX).replace(".", "/")


def request_subject(site: str | None = None, gateway: str | None = None) -> str:
    """The requests of one gateway, one site or every gateway (the default), as the MQTT
    gateway's store holds them."""
    return f"{MQTT_PREFIX}{SUBJECT_ROOT}.{site or '*'}.{gateway or '*'}.procurement.request"


def alarm_subject(site: str | None = None, gateway: str | None = None) -> str:
    """The alarms of one gateway, one site or every gateway (the default), as the stream
    `STREAM` keeps them: under the plain subject their topic arrives on."""
    return f"{SUBJECT_ROOT}.{site or '*'}.{gateway or '*'}.alarms.*"


def request_filter(subject: str) -> tuple[str | None, str | None] | None:
    """The site and gateway (None: any) whose requests `subject` names, when `request_subject`
    made it; None for another subject."""
    levels = subject.split(".")
    if len(levels) != 8:
        return None
    site, gateway = (None if level == "*" else level for level in levels[4:6])
    return (site, gateway) if subject == request_subject(site, gateway) else None


def requests_named(subject: str) -> str:
    """What a consumer filtered on `subject` takes, in words."""
    match request_filter(subject):
        case None:
            return f"the messages of {subject}"
        case (None, None):
            return "the requests of every gateway"
        case (site, None):
            return f"the requests of site {site}"
        case (None, gateway):
            return f"the requests of gateway {gateway} of any site"
        case (site, gateway):
            return f"the requests of gateway {site}/{gateway}"
    raise AssertionError(subject)


def takes(pattern: str, subject: str) -> bool:
    """Whether a consumer filtered on `pattern` takes every message `subject` (a subject, or a
    pattern with `*`) names."""
    have, want = pattern.split("."), subject.split(".")
    for at, level in enumerate(have):
        if level == ">":
            return len(want) > at
        if at == len(want) or level not in ("*", want[at]):
            return False
    return len(have) == len(want)


def filters_of(config: ConsumerConfig) -> list[str]:
    """The subjects a consumer is filtered on (none: the whole stream, `>`)."""
    return sorted(config.filter_subjects or [config.filter_subject or ">"])
