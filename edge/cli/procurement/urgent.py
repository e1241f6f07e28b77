"""What `rxedge procurement watch` tells of a request made urgent after it was sent, and how it
reads the gateways' alarms for its news (`read_alarm`).

The contract carries a request once: a routine request a stock-out or a short pick list makes
urgent at its gateway is not sent again, but named in the product's alarm
(`detail.urgent_requests`, docs/mqtt.md). The watch follows the alarms of the gateways it
watches (`alarm_subscription`, their retained states at every connect; the NATS watch, the
stream's record of them from its start: sync.jetstream.alarm_feed) and tells the clerk of
each request named there that it took as routine, or took before without knowing how urgent
(a seen file keeps ids, not priorities): edge.cli.procurement.alarm_news tells it, with what
became of a request the centre refused (edge.cli.procurement.refusal), and remembers what it
told in the file beside the watch's seen file, or beside its CSV file without one
(`urgent_file`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.service.journal import printable
from sync.inbound_json import read_json
from sync.procurement_feed import RequestKey
from sync.topics import ROOT

log = logging.getLogger(__name__)


def alarm_subscription(site: str | None = None, gateway: str | None = None) -> str:
    """The alarm topics of one gateway, one site or every gateway (the watch's filters)."""
    return f"{ROOT}/{site or '+'}/{gateway or '+'}/alarms/+"


def urgent_file(beside: Path) -> Path:
    """Where a watch keeps the news it told (requests told as urgent, refusals' news): beside
    its `--seen FILE`, FILE.urgent (without --seen, beside its `--csv CSV`: CSV.urgent)."""
    return beside.with_name(beside.name + ".urgent")


@dataclass(frozen=True, slots=True)
class Upgrade:
    """A request an alarm names as urgent now, and why, in the alarm's words."""

    key: RequestKey
    alarm_id: str
    why: str

    def line(self) -> str:
        """The line the clerk reads (control characters a sender put in shown escaped)."""
        k = self.key
        return printable(
            f"request {k.request_id} at {k.site}/{k.gateway} is now URGENT: {self.why} "
            f"(alarm {self.alarm_id})"
        )

    @property
    def told_as(self) -> RequestKey:
        """What the file of news told keeps once it is told: the request's key."""
        return self.key


@dataclass(frozen=True, slots=True)
class GatewayAlarm:
    """A live alarm as a gateway publishes it: where it came from and what it says."""

    site: str
    gateway: str
    alarm_id: str
    body: dict[str, Any]
    detail: dict[str, Any]

    @property
    def product(self) -> str:
        """The alarm's product in the clerk's words: its name and GTIN."""
        return f"{self.detail.get('name', '?')} (GTIN {self.detail.get('gtin', '?')})"


def read_alarm(topic: str, payload: bytes) -> GatewayAlarm | None:
    """The live alarm a message carries (None for a cleared alarm, one without a detail, or a
    message that is not an alarm's)."""
    levels = topic.split("/")
    if len(levels) != 6 or "/".join(levels[:2]) != ROOT or levels[4] != "alarms" or not payload:
        return None
    try:
        alarm = read_json(payload)
    except ValueError as exc:
        log.warning("%s: not an alarm, passed over: %s", topic, exc)
        return None
    detail = alarm.get("detail") if isinstance(alarm, dict) else None
    if not isinstance(detail, dict) or alarm.get("state") == "cleared":
        return None
    return GatewayAlarm(levels[2], levels[3], levels[5], alarm, detail)


def upgrades_in(alarm: GatewayAlarm) -> list[Upgrade]:
    """The requests an alarm names as urgent."""
    named = alarm.detail.get("urgent_requests")
    if not isinstance(named, list):
        return []
    why = why_of(alarm)
    return [
        Upgrade(RequestKey(alarm.site, alarm.gateway, rid), alarm.alarm_id, why)
        for rid in named
        if isinstance(rid, str) and rid
    ]


def why_of(alarm: GatewayAlarm) -> str:
    """Why the alarm made its requests urgent, in the clerk's words."""
    detail, product = alarm.detail, alarm.product
    if alarm.body.get("kind") == "stock_out":
        return f"{product} is out of stock"
    if "pick_id" in detail:
        return (
            f"pick list {detail['pick_id']} asked for more {product} than the shelves held; "
            f"{detail.get('short_by', '?')} packs owed to short pick lists, "
            f"{detail.get('on_hand', '?')} on hand"
        )
    kind = alarm.body.get("kind", "an")
    return f"{kind} alarm on {product}, {detail.get('on_hand', '?')} on hand"
