"""Topic names of the contract: ``rxedge/v1/{site}/{gateway}/...``."""

from __future__ import annotations

from dataclasses import dataclass

from inventory.ledger.outbox import STATE_KINDS, MessageKind, OutboxRow

ROOT = "rxedge/v1"
# Every gateway's requests, for the procurement side.
ALL_PROCUREMENT_REQUESTS = f"{ROOT}/+/+/procurement/request"


@dataclass(frozen=True, slots=True)
class Topics:
    """The topics of one gateway."""

    site: str
    gateway: str

    @property
    def prefix(self) -> str:
        return f"{ROOT}/{self.site}/{self.gateway}"

    @property
    def status(self) -> str:
        return f"{self.prefix}/status"

    @property
    def procurement_request(self) -> str:
        return f"{self.prefix}/procurement/request"

    @property
    def procurement_status(self) -> str:
        return f"{self.prefix}/procurement/status"

    @property
    def events(self) -> str:
        return f"{self.prefix}/events"

    @property
    def command_result(self) -> str:
        return f"{self.prefix}/cmd-result"

    def command(self, name: str) -> str:
        return f"{self.prefix}/cmd/{name}"

    @property
    def commands(self) -> str:
        """Every command to this gateway (a subscription filter)."""
        return f"{self.prefix}/cmd/+"

    def alarm(self, alarm_id: str) -> str:
        return f"{self.prefix}/alarms/{alarm_id}"

    @property
    def alarms(self) -> str:
        """Every alarm of this gateway (a subscription filter)."""
        return self.alarm("+")

    def lights(self, shelf: str) -> str:
        """A shelf's lights (retained)."""
        return f"{self.prefix}/lights/{shelf}"

    @classmethod
    def of(cls, topic: str) -> Topics | None:
        """The topics of the gateway whose topic `topic` is, or None (not a gateway's)."""
        parts = topic.split("/")
        if len(parts) < 5 or "/".join(parts[:2]) != ROOT or not all(parts[2:4]):
            return None
        return cls(parts[2], parts[3])

    def route(self, row: OutboxRow) -> tuple[str, bool]:
        """Topic and retain flag for an outbox message: retained exactly for the kinds whose
        message is its key's whole state (the outbox drops such a message unsent once a newer
        one of its key is acknowledged)."""
        return self._topic_of(row), row.kind in STATE_KINDS

    def _topic_of(self, row: OutboxRow) -> str:
        if row.kind is MessageKind.ALARM:
            return self.alarm(row.key)
        if row.kind is MessageKind.PROCUREMENT_REQUEST:
            return self.procurement_request
        if row.kind is MessageKind.COMMAND_RESULT:
            return self.command_result
        if row.kind is MessageKind.EVENT:
            return self.events
        raise ValueError(f"no topic for outbox message kind {row.kind!r}")
