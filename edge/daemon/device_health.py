"""When a device that went down deserves an alarm: only after it stayed down for a while, so a
reopened port or a controller's reboot does not page anyone."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DeviceHealth:
    """Tracks devices down since when; times are monotonic seconds from the caller."""

    alarm_after: float
    _down_since: dict[str, float] = field(default_factory=dict)
    _alarmed: set[str] = field(default_factory=set)
    reasons: dict[str, str] = field(default_factory=dict)

    def down(self, device: str, reason: str, now: float) -> None:
        self._down_since.setdefault(device, now)
        self.reasons[device] = reason

    def up(self, device: str) -> bool:
        """Record a return; True when an alarm was raised for it and must now clear."""
        self._down_since.pop(device, None)
        self.reasons.pop(device, None)
        if device in self._alarmed:
            self._alarmed.discard(device)
            return True
        return False

    def due(self, now: float) -> list[str]:
        """Devices down for `alarm_after` seconds and not alarmed yet (marked alarmed now)."""
        found = [
            device
            for device, since in self._down_since.items()
            if now - since >= self.alarm_after and device not in self._alarmed
        ]
        self._alarmed.update(found)
        return found
