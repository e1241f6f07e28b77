"""Presses made on the shelves between two runs of the gateway, counted at the start.

While the gateway is stopped (a crash, the watchdog, an upgrade) the controllers keep showing
their lights and counting presses. The bus hands the gateway what it reads of each controller
(`LastRead`) to be kept; at the next start, the counters of the first reading are compared with
those kept, but only when the controller can be shown to have run on meanwhile without a
restart: its heartbeat (seconds since power-on) must have gone on by the time that passed. A
controller that restarted (its counters started from zero again), one replaced by another at
the same address, a clock set between the two runs, or a stop longer than the heartbeat can
tell (it wraps at 65536 s, about 18 hours) all fail that test, and the first reading is then
the baseline, as it is for a profile without press counters or a heartbeat. The log says so.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence

from drivers.modbus.controller import ControllerState, LastRead
from drivers.modbus.profile import COUNTER_WRAP, SLACK, ShelfProfile

log = logging.getLogger(__name__)
NOT_COUNTED = "presses made while the gateway was not running are not counted"


def can_resume(profile: ShelfProfile) -> bool:
    """Whether presses made on a controller of `profile` between two runs can be counted: it
    must count presses and have a heartbeat that shows a restart."""
    return profile.buttons.counting and profile.heartbeat is not None


def resume_from(bus: str, states: Iterable[ControllerState], kept: Mapping[str, LastRead]) -> None:
    """Give each controller on `bus` what was kept of it (by name), to count from at its first
    reading; the log names those whose presses between the runs cannot be counted."""
    blind, unknown = [], []
    for state in states:
        name = state.spec.name
        if not can_resume(state.spec.profile):
            blind.append(name)
        elif (last := kept.get(name)) is None:
            unknown.append(name)
        else:
            state.resume = last
    for names, why in (
        (blind, "their profile has no press counters or no heartbeat"),
        (unknown, "nothing was kept of them from before"),
    ):
        if names:
            log.info("shelf bus %s: on %s %s: %s", bus, ", ".join(names), NOT_COUNTED, why)


def counted_from(
    name: str, last: LastRead, counters: Sequence[int], heartbeat: int, now: float
) -> list[int] | None:
    """At the first reading of controller `name` since the bus started (`counters`, and the
    heartbeat read as `heartbeat` at `now`): the counters to count presses from, `last`'s when
    the heartbeat shows that the controller ran on since then without a restart (a slot it did
    not have counts from this reading); else None, and the log says why."""
    elapsed = now - last.at
    ran = (heartbeat - last.heartbeat) % COUNTER_WRAP
    if elapsed < -SLACK:
        why = f"it was last read {-elapsed:.0f} s after now: the clock was set back since"
    elif elapsed + SLACK >= COUNTER_WRAP:
        why = f"it was last read {elapsed / 3600:.0f} hours ago, too long for its heartbeat"
    elif abs(ran - elapsed) > SLACK:
        why = (
            f"its heartbeat went on {ran} s in the {elapsed:.0f} s since it was last read: it "
            "restarted or was replaced meanwhile, or the clock was set"
        )
    else:
        kept = list(last.counters[: len(counters)])
        return kept + list(counters[len(kept) :])
    log.warning("shelf controller %s: %s: %s", name, NOT_COUNTED, why)
    return None
