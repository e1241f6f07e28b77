"""When a device (or a reader's antenna) that went down deserves an alarm: after it stayed down
for a while, so a reopened port, a controller's reboot or an antenna that fails one round and
reads the next does not page anyone; or when it keeps dropping, down `flap_drops` times within
`flap_seconds` however short each drop, since a link or an antenna cable that comes and goes
every few seconds loses presses, scans and reads all the same. A device alarmed for its drops
clears only once it has stayed up for `flap_seconds`; one alarmed for staying down clears when
it answers again. A reader's antennas cannot be judged while the reader is down: their alarms
stay as they are, and their clocks start again at its return."""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

FLAP_DROPS = 5  # drops within FLAP_SECONDS that raise the alarm
FLAP_SECONDS = 600.0


@dataclass
class DeviceHealth:
    """Tracks devices (and readers' antennas) down since when, and when each dropped lately;
    times are monotonic seconds from the caller."""

    alarm_after: float
    flap_drops: int = FLAP_DROPS
    flap_seconds: float = FLAP_SECONDS
    _down_since: dict[str, float] = field(default_factory=dict)
    _alarmed: set[str] = field(default_factory=set)
    _details: dict[str, dict[str, object]] = field(default_factory=dict)
    _drops: dict[str, deque[float]] = field(default_factory=dict)  # within flap_seconds
    _flapping: dict[str, float | None] = field(default_factory=dict)  # alarmed -> up since
    _unreachable: set[str] = field(default_factory=set)  # parts of a device that is down

    def down(
        self,
        device: str,
        reason: str,
        now: float,
        about: Mapping[str, object] | None = None,
    ) -> None:
        """`device` failed (again): down since its first failure after it last worked.
        `about` names the part for the alarm (default: {"device": device})."""
        if device not in self._down_since:
            recent = self._drops.setdefault(device, deque())
            recent.append(now)
            while recent[0] <= now - self.flap_seconds:
                recent.popleft()
        self._down_since.setdefault(device, now)
        self._details[device] = {**(about or {"device": device}), "reason": reason}
        if device in self._flapping:
            self._flapping[device] = None

    def alarmed_before(
        self, devices: Iterable[str], now: float, for_drops: Collection[str] = ()
    ) -> None:
        """Devices whose alarm the ledger holds live from before a restart: down since `now`
        and alarmed already, so their first sign of life clears the alarm; those of
        `for_drops` (alarmed for their drops) clear once they have stayed up for
        `flap_seconds` (`settled`)."""
        for device in devices:
            self._down_since.setdefault(device, now)
            self._details.setdefault(device, {"device": device, "reason": "down before a restart"})
            self._alarmed.add(device)
            if device in for_drops:
                self._flapping[device] = None

    def unreachable(self, parts: Iterable[str]) -> None:
        """`parts` (a reader's antennas) cannot work while their device is down: until
        `reachable`, none is alarmed or cleared, and one alarmed for its drops has not read
        since (its window starts at its first good round after the device's return)."""
        for part in parts:
            self._unreachable.add(part)
            if part in self._flapping:
                self._flapping[part] = None

    def reachable(self, parts: Iterable[str], now: float) -> None:
        """The device of `parts` is back at `now`: one of them down since before is down since
        `now`, so it has `alarm_after` again to show that it works."""
        for part in parts:
            if part in self._unreachable:
                self._unreachable.discard(part)
                if part in self._down_since:
                    self._down_since[part] = now

    def reads_between_failures(self, device: str, now: float) -> bool:
        """Whether `device` is alarmed for its drops and has not been down for `alarm_after`
        at `now`: it keeps failing, and works between failures (else it has had no good round
        for that long, is not alarmed for its drops, or is a part of a device that is down:
        it works not at all then)."""
        if device not in self._flapping or device in self._unreachable:
            return False
        since = self._down_since.get(device)
        return since is None or now - since < self.alarm_after

    def any_down(self) -> bool:
        """Whether any device is down or alarmed: else `up` has nothing to do."""
        return bool(self._down_since or self._alarmed)

    def alarmed(self, device: str) -> bool:
        """Whether `device` has its device_down alarm raised (and not yet cleared)."""
        return device in self._alarmed

    def up(self, device: str, now: float = 0.0) -> bool:
        """Record a return at `now`; True when an alarm was raised for it and must now clear.
        One raised for its drops clears later (`settled`), once it has stayed up."""
        self._down_since.pop(device, None)
        if device in self._flapping:
            if self._flapping[device] is None:
                self._flapping[device] = now
            return False
        if device in self._alarmed:
            self._alarmed.discard(device)
            return True
        return False

    def due(self, now: float) -> list[tuple[str, dict[str, object]]]:
        """Devices down `flap_drops` times within `flap_seconds`, or down for `alarm_after`
        seconds, and not alarmed yet (marked alarmed now), each with the alarm's detail: what
        is down and why (the latest reason; for drops, how many in how long). One that reached
        both is alarmed for its drops: it keeps dropping, so its return alone does not clear.
        Parts of a device that is down (`unreachable`) wait for its return."""
        found = []
        unjudged = self._alarmed | self._unreachable
        for device, recent in self._drops.items():
            while recent and recent[0] <= now - self.flap_seconds:
                recent.popleft()
            if len(recent) < self.flap_drops or device in unjudged:
                continue
            detail = dict(self._details[device])
            detail["reason"] = (
                f"down {len(recent)} times in {_span(self.flap_seconds)} "
                f"(the latest: {detail['reason']})"
            )
            detail["drops"] = len(recent)  # how it is known for one after a restart
            found.append((device, detail))
            self._flapping[device] = None if device in self._down_since else now
        self._alarmed.update(device for device, _ in found)
        unjudged.update(device for device, _ in found)
        for device, since in self._down_since.items():
            if now - since >= self.alarm_after and device not in unjudged:
                found.append((device, dict(self._details[device])))
                self._alarmed.add(device)
        self._drops = {device: recent for device, recent in self._drops.items() if recent}
        return found

    def settled(self, now: float) -> list[str]:
        """Devices alarmed for their drops that have stayed up for `flap_seconds` since: no
        longer alarmed (their alarm must now clear)."""
        found = [
            device
            for device, up_since in self._flapping.items()
            if up_since is not None and now - up_since >= self.flap_seconds
        ]
        for device in found:
            del self._flapping[device]
            self._alarmed.discard(device)
        return found


def _span(seconds: float) -> str:
    """A window in words: "10 min", "45 s"."""
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:g} s"
