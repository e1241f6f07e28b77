"""What `rxedge procurement watch` tells of a request made urgent after it was sent.

The contract carries a request once: a routine request a stock-out or a short pick list makes
urgent at its gateway is not sent again, but named in the product's alarm
(`detail.urgent_requests`, docs/mqtt.md). The watch follows the alarms of the gateways it
watches (`alarm_subscription`, their retained states at every connect; the NATS watch, the
stream's record of them from its start: sync.jetstream.alarm_feed) and tells the clerk of
each request named there that it took as routine, or took before without knowing how urgent
(a seen file keeps ids, not priorities): a line on stderr, with `--json` as without. Never on
stdout nor in the CSV file: they hold one line, one row, a request taken, and a script ordering
each would order the request again. A request named before it arrives (a backlog handed over
after the alarm) is told right after it, if it came as routine. One that came as urgent or stat
needs no news. What the watch told, or took as urgent, it remembers: in the file beside its seen
file, or beside its CSV file without one (`urgent_file`); and its CSV file's rows of priority
urgent or stat are known as urgent. A restarted watch, its alarms arriving again, tells only
what it had not told. A request the watch never took (another watch of its share group took
it) is not told here: the watch that took it tells it.
"""

from __future__ import annotations

import logging
import sys
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.service.journal import printable
from sync.inbound_json import read_json
from sync.procurement_feed import ReceivedRequest, RequestKey, SeenRequests
from sync.topics import ROOT

if TYPE_CHECKING:
    from edge.cli.procurement.request_csv import RequestCsv

log = logging.getLogger(__name__)
URGENT_PRIORITIES = frozenset({"urgent", "stat"})  # a request taken so needs no news
WAITING_MEMORY = 10_000  # ids named by alarms before their request came, the latest kept


def alarm_subscription(site: str | None = None, gateway: str | None = None) -> str:
    """The alarm topics of one gateway, one site or every gateway (the watch's filters)."""
    return f"{ROOT}/{site or '+'}/{gateway or '+'}/alarms/+"


def urgent_file(beside: Path) -> Path:
    """Where a watch keeps the requests it told as urgent: beside its `--seen FILE`, FILE.urgent
    (without --seen, beside its `--csv CSV`: CSV.urgent)."""
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


def upgrades_in(topic: str, payload: bytes) -> list[Upgrade]:
    """The requests an alarm message names as urgent (none for a cleared alarm, or a message
    that is not an alarm's)."""
    levels = topic.split("/")
    if len(levels) != 6 or "/".join(levels[:2]) != ROOT or levels[4] != "alarms" or not payload:
        return []
    try:
        alarm = read_json(payload)
    except ValueError as exc:
        log.warning("%s: not an alarm, passed over: %s", topic, exc)
        return []
    detail = alarm.get("detail") if isinstance(alarm, dict) else None
    if not isinstance(detail, dict) or alarm.get("state") == "cleared":
        return []
    named = detail.get("urgent_requests")
    if not isinstance(named, list):
        return []
    site, gateway, alarm_id = levels[2], levels[3], levels[5]
    why = why_of(alarm, detail)
    return [
        Upgrade(RequestKey(site, gateway, rid), alarm_id, why)
        for rid in named
        if isinstance(rid, str) and rid
    ]


def why_of(alarm: dict[str, Any], detail: dict[str, Any]) -> str:
    """Why the alarm made its requests urgent, in the clerk's words."""
    product = f"{detail.get('name', '?')} (GTIN {detail.get('gtin', '?')})"
    if alarm.get("kind") == "stock_out":
        return f"{product} is out of stock"
    if "pick_id" in detail:
        return (
            f"pick list {detail['pick_id']} asked for more {product} than the shelves held; "
            f"{detail.get('short_by', '?')} packs owed to short pick lists, "
            f"{detail.get('on_hand', '?')} on hand"
        )
    return f"{alarm.get('kind', 'an')} alarm on {product}, {detail.get('on_hand', '?')} on hand"


class UrgentNews:
    """Tells the clerk once of each request taken as routine that an alarm names as urgent.

    `taken_before` says whether the watch took a request before (its seen ids); `told` holds the
    requests known as urgent (told, or taken so), in `path` when given, and from the CSV file's
    rows of priority urgent or stat (`table`, read once here: nothing is written to it)."""

    def __init__(
        self,
        taken_before: SeenRequests,
        path: Path | None,
        table: RequestCsv | None,
    ):
        self.told = SeenRequests(path)
        if table is not None:
            self.told.know(table.urgent_keys())
        self._taken_before = taken_before
        self._taken_now = SeenRequests()  # this run's, whatever the seen ids keep
        self._waiting: OrderedDict[RequestKey, Upgrade] = OrderedDict()

    def alarm(self, topic: str, payload: bytes) -> None:
        """An alarm message: tell what it names that is news to the clerk."""
        for upgrade in upgrades_in(topic, payload):
            key = upgrade.key
            if key in self.told:
                continue
            if key in self._taken_now or key in self._taken_before:
                self.tell(upgrade)
            else:  # not taken yet: told once it comes, if it comes routine
                self._waiting[key] = upgrade
                self._waiting.move_to_end(key)
                if len(self._waiting) > WAITING_MEMORY:
                    self._waiting.popitem(last=False)

    def taken(self, request: ReceivedRequest) -> None:
        """A request just taken (printed, written down): known as urgent if it came so, or told
        if an alarm named it before it came."""
        key = request.key
        self._taken_now.add(key)
        waiting = self._waiting.pop(key, None)
        if str(request.body.get("priority")) in URGENT_PRIORITIES:
            self.told.add(key)
        elif waiting is not None and key not in self.told:
            self.tell(waiting)

    def tell(self, upgrade: Upgrade) -> None:
        """Print the news on stderr, then remember it as told. Not on stdout, even with --json:
        stdout holds one line a request taken, and a script ordering each would order this
        request again (as for a copy sent again, edge.cli.procurement.watch.Clerk.repeat)."""
        print(upgrade.line(), file=sys.stderr, flush=True)
        self.told.add(upgrade.key)

    def close(self) -> None:
        self.told.close()
