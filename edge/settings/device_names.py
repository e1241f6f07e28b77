"""The names devices go by: in the status line, the metrics and their `device_down` alarms.
Each must name one device only, so a reader and a shelf cannot share a name, nor take the name
the link to the broker goes by (`BROKER_LINK`) or, with badges, the badge service's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from drivers.pcsc.badge_reader import BADGE_SERVICE

# The device name of the link to the broker: its device_down alarm is raised while another
# client takes the gateway's session over (edge.daemon.alarm_watch.broker_link_alarms).
BROKER_LINK = "broker"


class _Named(Protocol):
    @property
    def name(self) -> str: ...


def antenna_name(reader: str, antenna: int) -> str:
    """The name an antenna's health and alarm go by: r1-antenna-2."""
    return f"{reader}-antenna-{antenna}"


def device_name_problems(
    sections: Sequence[tuple[str, Sequence[_Named]]], badges: bool
) -> list[str]:
    """A problem for each device whose name another device (or, with `badges`, the badge
    service) already goes by. `sections` are (key, entries): ("readers", [...]), ..."""
    problems: list[str] = []
    taken = {BROKER_LINK: "the link to the broker's name"}
    if badges:
        taken[BADGE_SERVICE] = "the badge service's name (badges are enabled)"
    first: dict[str, str] = dict.fromkeys(taken, "")
    for key, entries in sections:
        for i, entry in enumerate(entries):
            here = f"{key}[{i}]"
            if entry.name not in first:
                first[entry.name] = here
            elif entry.name in taken and not first[entry.name]:
                problems.append(
                    f"{here}.name: {entry.name!r} is {taken[entry.name]}; rename this device"
                )
            else:
                problems.append(
                    f"{here}.name: {entry.name!r} is already the name of {first[entry.name]}; "
                    "each reader, scanner and shelf needs a name of its own (its status and "
                    "device_down alarm go by it)"
                )
    return problems
