"""What `rxedge procurement watch` tells the clerk from the gateways' alarms: a request made
urgent after it was taken (edge.cli.procurement.urgent), and what became of a request the
centre refused (edge.cli.procurement.refusal). The MQTT watch and the NATS watch hand every
alarm message to one `AlarmNews.alarm`.

Each piece of news is told once, on stderr (with `--json` as without), and only of a request
this watch took (this run, or before: its seen ids): one another watch of its share group took
is that watch's to tell. Never on stdout nor in the CSV file: they hold one line, one row, a
request taken, and a script ordering each would order the request again. News of a request
named before it arrives (a backlog handed over after the alarm) is told right after it; an
urgent one only if it came as routine (one that came as urgent or stat needs no news). What the
watch told, or took as urgent, it remembers: in the file beside its seen file, or beside its
CSV file without one (`urgent_file`), one line each in the seen file's form (a refusal's news,
`Refusal.told_as`); and its CSV file's rows of priority urgent or stat are known as urgent. A
restarted watch, its alarms arriving again, tells only what it had not told.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

from edge.cli.procurement.refusal import Refusal, refusal_in
from edge.cli.procurement.urgent import Upgrade, read_alarm, upgrades_in
from sync.procurement_feed import ReceivedRequest, RequestKey, SeenRequests

if TYPE_CHECKING:
    from edge.cli.procurement.request_csv import RequestCsv

URGENT_PRIORITIES = frozenset({"urgent", "stat"})  # a request taken so needs no news of it
WAITING_MEMORY = 10_000  # requests named by alarms before they came, the latest kept

News = Upgrade | Refusal


def news_in(topic: str, payload: bytes) -> list[News]:
    """The news an alarm message carries: the requests it names as urgent, and what became of
    a request the centre refused (none for a cleared alarm, or a message not an alarm's)."""
    alarm = read_alarm(topic, payload)
    if alarm is None:
        return []
    refusal = refusal_in(alarm)
    return [*upgrades_in(alarm), *([] if refusal is None else [refusal])]


class AlarmNews:
    """Tells the clerk once of each piece of news about a request this watch took.

    `taken_before` says whether the watch took a request before (its seen ids); `told` holds the
    news told and the requests known as urgent (told, or taken so), in `path` when given, and
    from the CSV file's rows of priority urgent or stat (`table`, read once here: nothing is
    written to it)."""

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
        self._waiting: OrderedDict[RequestKey, dict[RequestKey, News]] = OrderedDict()

    def alarm(self, topic: str, payload: bytes) -> None:
        """An alarm message: tell what it says that is news to the clerk."""
        for news in news_in(topic, payload):
            key = news.key
            if news.told_as in self.told:
                continue
            if key in self._taken_now or key in self._taken_before:
                self.tell(news)
            else:  # not taken yet: told once it comes
                self._waiting.setdefault(key, {})[news.told_as] = news
                self._waiting.move_to_end(key)
                if len(self._waiting) > WAITING_MEMORY:
                    self._waiting.popitem(last=False)

    def taken(self, request: ReceivedRequest) -> None:
        """A request just taken (printed, written down): known as urgent if it came so; the
        news alarms told of it before it came told now."""
        key = request.key
        self._taken_now.add(key)
        waiting = self._waiting.pop(key, {})
        if str(request.body.get("priority")) in URGENT_PRIORITIES:
            self.told.add(key)
        for told_as, news in waiting.items():
            if told_as not in self.told:
                self.tell(news)

    def tell(self, news: News) -> None:
        """Print the news on stderr, then remember it as told. Not on stdout, even with --json:
        stdout holds one line a request taken, and a script ordering each would order this
        request again (as for a copy sent again, edge.cli.procurement.watch.Clerk.repeat)."""
        print(news.line(), file=sys.stderr, flush=True)
        self.told.add(news.told_as)

    def close(self) -> None:
        self.told.close()
