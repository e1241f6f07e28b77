"""When a device that went down deserves an alarm: only after it stayed down for a while, so a
reopened port, a controller's reboot or an antenna that fails one round and reads the next does
not page anyone."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass
class DeviceHealth:
    """Tracks devices (and readers' antennas) down since when; times are monotonic seconds
    from the caller."""

    alarm_after: float
    _down_since: dict[str, float] = field(default_factory=dict)
    _alarmed: set[str] = field(default_factory=set)
    _details: dict[str, dict[str, object]] = field(default_factory=dict)

    def down(
        self, device: str, reason: str, now: float, about: Mapping[str, object] | None = None
    ) -> None:
        """`device` failed (again): down since its first failure after it last worked.
        `about` names the part for the alarm (default: {"device": device})."""
        self._down_since.setdefault(device, now)
        self._details[device] = {**(about or {"device": device}), "reason": reason}

    def alarmed_before(self, devices: Iterable[str], now: float) -> None:
        """Devices whose alarm the ledger holds live from before a restart: down since `now`
        and alarmed already, so their first sign of life clears the alarm."""
        for device in devices:
            self._down_since.setdefault(device, now)
            self._details.setdefault(device, {"device": device, "reason": "down before a restart"})
            self._alarmed.add(device)

    def any_down(self) -> bool:
        """Whether any device is down or alarmed: else `up` has nothing to do."""
        return bool(self._down_since or self._alarmed)

    def alarmed(self, device: str) -> bool:
        """Whether `device` has its device_down alarm raised (and not yet cleared)."""
        return device in self._alarmed

    def up(self, device: str) -> bool:
        """Record a return; True when an alarm was raised for it and must now clear."""
        self._down_since.pop(device, None)
        self._details.pop(device, None)
        if device in self._alarmed:
            self._alarmed.discard(device)
            return True
        return False

    def due(self, now: float) -> list[tuple[str, dict[str, object]]]:
        """Devices down for `alarm_after` seconds and not alarmed yet (marked alarmed now), each
        with the alarm's detail: what is down and the latest reason."""
        found = [
            device
            for device, since in self._down_since.items()
            if now - since >= self.alarm_after and device not in self._alarmed
        ]
        self._alarmed.update(found)
        return [(device, dict(self._details[device])) for device in found]
