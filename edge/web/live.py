"""Live state for the page: the gateway's topics (lights, alarms, status, command answers)
through one MQTT session, the ledger's commits noticed by `PRAGMA data_version`, and each
browser's Server-Sent Events stream fed from them.

Lights go to browsers as they arrive (a slot lit on the shelf is lit on the page within the
broker's hop); everything else is a nudge (`ledger`, `alarm`, `result`) after which a page
fetches the parts of itself that show it. `day` (the site's date: at each stream's start, and
at its midnight) makes a page drawn on another day fetch every part again, so expiry is judged
on the new day, also by a tablet that slept through midnight. `link` says whether what a page
shows is live: the page's own broker link up and the gateway online (each browser's stream
starts with it, and it is sent again whenever either changes). `generation` (at each stream's
start) names the flushes sent so far (`stamp`): a page drawn under another stamp missed a nudge
between its drawing and its stream's start (a change as the page opened, or while its stream
was broken), and fetches every part again.

Browsers cost the gateway little and the same however many are open: what arrives within
FLUSH_SECONDS is gathered (a shelf's newer lights replace its older ones, a repeated nudge
counts once), encoded once, and the same bytes go to every stream as one write. Each flush
also moves `generation` on, which is what the shared live parts (edge.web.shared_parts) are
kept by.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from anyio import to_thread

from edge.web.reading import FileId, LedgerReader, data_version, file_id
from inventory.errors import StoreError
from inventory.ledger.store import connect_readonly
from sync.broker_security import BrokerLink
from sync.mqtt_session import MqttSession
from sync.topics import Topics

log = logging.getLogger(__name__)
QUEUE_EVENTS = 256  # a browser further behind than this is dropped (it reconnects and redraws)
FLUSH_SECONDS = 0.04  # events gathered for one write to every browser
LEDGER_POLL_SECONDS = 0.25
KEEPALIVE_SECONDS = 15.0
# Streams open at once: in all, and from one client address (a browser holds one per window). An
# open stream is a connection held for good, so these keep room for everyone's other requests.
MAX_STREAMS = 200
MAX_STREAMS_PER_ADDRESS = 12


@dataclass(frozen=True, slots=True)
class Event:
    name: str  # lights, alarm, result, status, ledger, day, link, generation
    data: str  # JSON

    def encoded(self) -> bytes:
        return f"event: {self.name}\ndata: {self.data}\n\n".encode()


@dataclass(slots=True)
class LiveState:
    """What the gateway last said: each shelf's lights, live alarm ids, its status."""

    lights: dict[str, dict[str, Any]] = field(default_factory=dict)  # shelf -> message
    alarms: set[str] = field(default_factory=set)
    gateway_status: str = "unknown"
    broker_linked: bool = False  # the page's own link to the broker


class LiveFeed:
    """One MQTT session for the page; any number of browser streams."""

    def __init__(self, broker: BrokerLink, topics: Topics, client_id: str, reader: LedgerReader):
        self.topics = topics
        self.state = LiveState()
        self.reader = reader
        self._broker = broker
        self._client_id = client_id
        self._streams: set[asyncio.Queue[bytes | None]] = set()
        self.max_streams = MAX_STREAMS
        self.max_streams_per_address = MAX_STREAMS_PER_ADDRESS
        self._refused_told: set[tuple[bool, str]] = set()  # refusals logged once each
        self._admitted: Counter[str] = Counter()  # client address -> streams let in, open
        self._due: dict[tuple[str, str], bytes] = {}  # gathered for the next flush, in order
        self._flush: asyncio.TimerHandle | None = None
        self.generation = 0  # moves on with every flush of nudges: browsers fetch again
        self._run = secrets.token_hex(4)  # a page drawn before a restart is never current
        self.lights_generation = 0  # moves on with every flush of lights
        self.session: MqttSession | None = None
        self.on_result: Callable[[bytes], None] | None = None  # every cmd-result message
        self.today: Callable[[], date] | None = None  # the site's date, watched for its change
        self._day: date | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def browsers(self) -> int:
        return len(self._streams)

    def admit(self, address: str) -> bool:
        """Whether a browser at `address` may open a stream now (`max_streams` in all,
        `max_streams_per_address` each); if so it counts as open until `release`."""
        full = self._admitted.total() >= self.max_streams
        if full or self._admitted[address] >= self.max_streams_per_address:
            told = (full, "" if full else address)  # once a full feed, once an address
            if told not in self._refused_told:
                self._refused_told.add(told)
                log.warning(
                    "live feed: a screen at %s refused: %s; it shows 'Not live: reconnecting' "
                    "and tries again. Screens behind one address (a proxy that sends no "
                    "X-Forwarded-For, a Wi-Fi router's NAT) share that address's streams",
                    address,
                    f"{self.max_streams} streams are open in all"
                    if full
                    else f"{self.max_streams_per_address} are open from that address",
                )
            return False
        self._admitted[address] += 1
        return True

    def release(self, address: str) -> None:
        """A stream `admit` let in has ended."""
        self._admitted[address] -= 1
        if self._admitted[address] <= 0:
            del self._admitted[address]

    @property
    def stamp(self) -> str:
        """The nudges sent so far, as a page drawn now says it was drawn after them: a stream
        that starts under another stamp tells its page that it missed some."""
        return f"{self._run}-{self.generation}"

    async def start(self) -> None:
        prefix = self.topics.prefix
        self.session = MqttSession(
            self._broker.addresses,
            self._client_id,
            subscriptions=[
                f"{prefix}/lights/+",
                f"{prefix}/alarms/+",
                self.topics.status,
                self.topics.command_result,
            ],
            on_message=self._on_message,
            persistent=False,
            security=self._broker.security,
            protocol=self._broker.protocol,
        )
        await self.session.start()
        self._tasks.append(asyncio.create_task(self._watch_ledger(), name="ledger watch"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._flush is not None:
            self._flush.cancel()
        for stream in list(self._streams):
            stream.put_nowait(None)
        if self.session is not None:
            await self.session.stop()

    def _on_message(self, topic: str, payload: bytes) -> None:
        """On the loop (the session hands paho's messages over)."""
        rest = topic.removeprefix(self.topics.prefix + "/")
        if rest.startswith("lights/"):
            try:
                message = json.loads(payload)
            except ValueError:
                return
            shelf = rest.removeprefix("lights/")
            self.state.lights[shelf] = message
            self._send(Event("lights", payload.decode()), shelf)
        elif rest.startswith("alarms/"):
            alarm_id = rest.removeprefix("alarms/")
            if payload:
                self.state.alarms.add(alarm_id)
            else:
                self.state.alarms.discard(alarm_id)
            self._send(
                Event("alarm", json.dumps({"alarm_id": alarm_id, "live": bool(payload)})), alarm_id
            )
        elif rest == "status":
            self.state.gateway_status = payload.decode(errors="replace")
            self._send(Event("status", json.dumps({"status": self.state.gateway_status})))
            self._send(self._link())
        elif rest == "cmd-result":
            if self.on_result is not None:
                self.on_result(payload)
            result = payload.decode(errors="replace")
            self._send(Event("result", result), result)  # every answer is told

    async def _watch_ledger(self) -> None:
        """A `ledger` nudge whenever the daemon committed (pick progress, stock, requests), or
        the path names another file (a ledger moved aside, a backup put in its place)."""
        # A connection of its own: data_version compares within one connection only.
        db: sqlite3.Connection | None = None
        opened: FileId = None
        seen: int | None = None
        looked, problem = False, ""
        try:
            while True:
                now = file_id(self.reader.path)
                if now != opened:
                    if db is not None:
                        db.close()
                        db = None
                    if looked:
                        self._send(Event("ledger", "{}"))  # another file: every view asks again
                    opened, seen, looked = now, None, True
                try:
                    if db is None and now is not None:
                        db = connect_readonly(self.reader.path, lasting=True)
                    if db is not None:
                        version = await to_thread.run_sync(data_version, db)
                        if seen is not None and version != seen:
                            self._send(Event("ledger", "{}"))
                        seen, problem = version, ""
                except (sqlite3.Error, StoreError) as exc:  # a disk hiccup: try again
                    if str(exc) != problem:
                        log.warning("cannot read the ledger's version: %s", exc)
                    problem = str(exc)
                self._watch_day()
                self._watch_link()
                await asyncio.sleep(LEDGER_POLL_SECONDS)
        finally:
            if db is not None:
                db.close()

    def _watch_day(self) -> None:
        """A `day` event when the site's date moves on (its midnight): pages left open show
        expiry judged on the new day, not on the one they were drawn on."""
        if self.today is None:
            return
        day = self.today()
        if self._day is not None and day != self._day:
            self._send(Event("day", json.dumps({"today": day.isoformat()})))
        self._day = day

    def _watch_link(self) -> None:
        """A `link` event when the page's broker link went down or came back: while it is
        down, nothing the gateway says reaches the page, and its browsers must say so."""
        linked = self.session is not None and self.session.connected.is_set()
        if linked != self.state.broker_linked:
            self.state.broker_linked = linked
            self._send(self._link())

    def _link(self) -> Event:
        """Whether the page is live: its broker link, and the gateway's status."""
        said = {"broker": self.state.broker_linked, "gateway": self.state.gateway_status}
        return Event("link", json.dumps(said))

    def _send(self, event: Event, about: str = "") -> None:
        """Gather `event` for the next flush; a newer event of its name `about` the same thing
        (a shelf, an alarm) replaces it."""
        key = (event.name, about)
        self._due.pop(key, None)
        self._due[key] = event.encoded()
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(FLUSH_SECONDS, self._flush_due)

    def _flush_due(self) -> None:
        """The gathered events, as one chunk, to every browser."""
        self._flush = None
        chunk, due, self._due = b"".join(self._due.values()), self._due, {}
        if any(name != "lights" for name, _ in due):
            self.generation += 1
        if any(name == "lights" for name, _ in due):
            self.lights_generation += 1
        for stream in list(self._streams):
            try:
                stream.put_nowait(chunk)
            except asyncio.QueueFull:
                self._streams.discard(stream)
                stream.get_nowait()
                stream.put_nowait(None)  # this browser is too far behind: end its stream

    async def stream(self) -> AsyncIterator[bytes]:
        """One browser's events, starting with every shelf's lights as they stand."""
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE_EVENTS)
        self._streams.add(queue)
        try:
            # What stands as the queue starts: whether it is live, the nudges sent before it
            # (a page drawn before one of them missed it), the site's day (a browser back from
            # sleep may have missed its midnight) and every shelf's lights.
            standing = [self._link(), Event("generation", json.dumps({"stamp": self.stamp}))]
            if self.today is not None:
                standing.append(Event("day", json.dumps({"today": self.today().isoformat()})))
            standing += [Event("lights", json.dumps(m)) for m in self.state.lights.values()]
            yield b"retry: 2000\n\n" + b"".join(event.encoded() for event in standing)
            while True:
                try:  # not wait_for: on Python 3.11 it can swallow the stream's cancellation
                    async with asyncio.timeout(KEEPALIVE_SECONDS):
                        chunk = await queue.get()
                except TimeoutError:
                    yield b": keepalive\n\n"
                    continue
                if chunk is None:
                    return
                yield chunk
        finally:
            self._streams.discard(queue)
