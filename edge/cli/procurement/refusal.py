"""What `rxedge procurement watch` tells of a request the centre refused: what became of it.

A request answered `cancelled` or `rejected` is no longer open, and a proposal may wait for a
pharmacist instead. The gateway says so in the product's live shortage and stock-out alarms
(docs/mqtt.md, "A request the centre refuses"): `refused_request` and `refused_status`, with
`proposal_id` (the proposal that waits; absent when nothing more is needed), later
`requested_again` (the id the confirmed proposal was sent under) or `proposal_withdrawn` (stock
rose before anyone confirmed it). Each of these is a piece of news for the clerk who refused,
told once: its request and what happened (`Refusal.told_as`), whichever alarm carries it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from edge.cli.procurement.urgent import GatewayAlarm
from edge.service.journal import printable
from sync.procurement_feed import RequestKey


class Became(StrEnum):
    """What became of a refused request, as its alarm says now."""

    WAITS = "waits"  # a proposal waits for a pharmacist
    NOTHING = "nothing"  # no proposal: nothing more is needed
    SENT = "sent"  # the proposal was confirmed and sent as a request
    WITHDRAWN = "withdrawn"  # the proposal was withdrawn unconfirmed: stock rose


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request the centre refused (`key`), how (`status`), and what became of it since: the
    proposal named (`proposal`: the one that waits or was withdrawn, the request it was sent
    as), as the alarm `alarm_id` on `product` says."""

    key: RequestKey
    status: str
    became: Became
    proposal: str
    product: str
    alarm_id: str

    def line(self) -> str:
        """The line the clerk reads (control characters a sender put in shown escaped)."""
        k = self.key
        return printable(
            f"request {k.request_id} at {k.site}/{k.gateway} was {self.status}: {self.since()} "
            f"(alarm {self.alarm_id})"
        )

    def since(self) -> str:
        product, proposal = self.product, self.proposal
        if self.became is Became.WAITS:
            return f"proposal {proposal} for {product} waits for a pharmacist to confirm it"
        if self.became is Became.SENT:
            return f"the proposal for {product} was confirmed and sent as request {proposal}"
        if self.became is Became.WITHDRAWN:
            return (
                f"proposal {proposal} for {product} was withdrawn unconfirmed: stock rose, "
                "nothing more is needed"
            )
        return f"no proposal for {product} waits: nothing more is needed"

    @property
    def told_as(self) -> RequestKey:
        """What the file of news told keeps once it is told: the refused request's key with
        what became of it after a space, `site/gateway/request_id sent` as a line (a request
        id is a UUID: no space in it, so no line of a request told as urgent reads so)."""
        k = self.key
        return RequestKey(k.site, k.gateway, f"{k.request_id} {self.became}")


def refusal_in(alarm: GatewayAlarm) -> Refusal | None:
    """The refusal news a live alarm carries, if any."""
    detail = alarm.detail
    refused, status = detail.get("refused_request"), detail.get("refused_status")
    if not (isinstance(refused, str) and refused and isinstance(status, str) and status):
        return None
    proposal = ""
    became = Became.NOTHING
    for field, what in (
        ("requested_again", Became.SENT),
        ("proposal_withdrawn", Became.WITHDRAWN),
        ("proposal_id", Became.WAITS),
    ):
        named = detail.get(field)
        if isinstance(named, str) and named:
            proposal, became = named, what
            break
    key = RequestKey(alarm.site, alarm.gateway, refused)
    return Refusal(key, status, became, proposal, alarm.product, alarm.alarm_id)
