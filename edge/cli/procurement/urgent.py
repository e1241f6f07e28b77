"""What `rxedge procurement watch` tells of a request made urgent after it was sent.

The contract carries a request once: a routine request a stock-out or a short pick list makes
urgent at its gateway is not sent again, but named in the product's alarm
(`detail.urgent_requests`, docs/mqtt.md). The watch follows the alarms of the gateways it
watches (`alarm_subscription`, their retained states at every connect) and tells the clerk of
each request named there that it took as routine, or took before without knowing how urgent
(a seen file keeps ids, not priorities): a line, a `--json` object with `"news": "urgent"`, a
CSV row whose `news` cell says why. A request named before it arrives (a backlog handed over
after the alarm) is told right after it, if it came as routine. One that came as urgent or stat
needs no news. What the watch told, or took as urgent, it remembers: in the file beside its seen
file (`urgent_file`), and in its CSV file (a row of priority urgent); a restarted watch, its
alarms arriving again, tells only what it had not told. A request the watch never took (another
watch of its share group took it) is not told here: the watch that took it tells it.
"""

from __future__ import annotations

import json
import logging
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


def urgent_file(seen: Path) -> Path:
    """Where a watch with `--seen FILE` keeps the requests it told as urgent: FILE.urgent."""
    return seen.with_name(seen.name + ".urgent")


@dataclass(frozen=True, slots=True)
class Upgrade:
    """A request an alarm names as urgent now, and why, in the alarm's words."""

    key: RequestKey
    alarm_id: str
    why: str
    gtin: str | None
    name: str | None
    on_hand: object
    reorder_point: object

    def line(self) -> str:
        """The line the clerk reads (control characters a sender put in shown escaped)."""
        k = self.key
        return printable(
            f"request {k.request_id} at {k.site}/{k.gateway} is now URGENT: {self.why} "
            f"(alarm {self.alarm_id})"
        )

    def row(self, at: str) -> dict[str, object]:
        """The CSV row telling that the request written down before is urgent now, and why:
        what the alarm says of its product; the request's other cells are on its own row."""
        k = self.key
        return {
            "received_at": at,
            "site": k.site,
            "gateway": k.gateway,
            "request_id": k.request_id,
            "gtin": self.gtin,
            "name": self.name,
            "priority": "urgent",
            "on_hand": self.on_hand,
            "reorder_point": self.reorder_point,
            "news": f"now urgent: {self.why} (alarm {self.alarm_id})",
        }

    def event(self, at: str) -> dict[str, object]:
        """The `--json` object: not a request (it has no quantity), news of one taken."""
        k = self.key
        return {
            "news": "urgent",
            "request_id": k.request_id,
            "site": k.site,
            "gateway": k.gateway,
            "priority": "urgent",
            "gtin": self.gtin,
            "name": self.name,
            "why": self.why,
            "alarm_id": self.alarm_id,
            "told_at": at,
        }


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
    gtin, name = detail.get("gtin"), detail.get("name")
    return [
        Upgrade(
            RequestKey(site, gateway, rid),
            alarm_id,
            why,
            gtin if isinstance(gtin, str) else None,
            name if isinstance(name, str) else None,
            detail.get("on_hand"),
            detail.get("reorder_point"),
        )
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
    rows of priority urgent or stat."""

    def __init__(
        self,
        taken_before: SeenRequests,
        path: Path | None,
        table: RequestCsv | None,
        as_json: bool,
    ):
        self.told = SeenRequests(path)
        if table is not None:
            self.told.know(table.urgent_keys())
        self._taken_before = taken_before
        self._taken_now = SeenRequests()  # this run's, whatever the seen ids keep
        self._waiting: OrderedDict[RequestKey, Upgrade] = OrderedDict()
        self._table = table
        self._as_json = as_json

    def alarm(self, topic: str, payload: bytes, at: str) -> None:
        """An alarm message: tell what it names that is news to the clerk."""
        for upgrade in upgrades_in(topic, payload):
            key = upgrade.key
            if key in self.told:
                continue
            if key in self._taken_now or key in self._taken_before:
                self.tell(upgrade, at)
            else:  # not taken yet: told once it comes, if it comes routine
                self._waiting[key] = upgrade
                self._waiting.move_to_end(key)
                if len(self._waiting) > WAITING_MEMORY:
                    self._waiting.popitem(last=False)

    def taken(self, request: ReceivedRequest, at: str) -> None:
        """A request just taken (printed, written down): known as urgent if it came so, or told
        if an alarm named it before it came."""
        key = request.key
        self._taken_now.add(key)
        waiting = self._waiting.pop(key, None)
        if str(request.body.get("priority")) in URGENT_PRIORITIES:
            self.told.add(key)
        elif waiting is not None and key not in self.told:
            self.tell(waiting, at)

    def tell(self, upgrade: Upgrade, at: str) -> None:
        """Write the news down (CSV), print it, then remember it as told. A CSV file that cannot
        take it leaves it untold, to be told at the next start."""
        if self._table is not None:
            try:
                self._table.write_row(upgrade.row(at))
            except OSError as exc:
                log.error("could not write down that %s is urgent now: %s", upgrade.key, exc)
                return
        shown = json.dumps(upgrade.event(at)) if self._as_json else upgrade.line()
        print(shown, flush=True)
        self.told.add(upgrade.key)

    def close(self) -> None:
        self.told.close()
