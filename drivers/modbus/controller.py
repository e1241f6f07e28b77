"""One shelf controller as its bus sees it: what it is, what it should show, what it is known to
show, and the counters of what was done with it."""

from __future__ import annotations

from dataclasses import dataclass, field

from drivers.modbus.lights import DARK, SlotLight
from drivers.modbus.profile import ShelfProfile


@dataclass(frozen=True, slots=True)
class ControllerSpec:
    """A controller on the bus: its name, Modbus device id, slot count and register map."""

    name: str
    device_id: int
    slots: int
    profile: ShelfProfile

    def __post_init__(self) -> None:
        if not 1 <= self.device_id <= 247:
            raise ValueError(f"shelf {self.name}: device id {self.device_id} is not in 1-247")
        most = self.profile.max_slots
        if not 1 <= self.slots <= most:
            allowed = "one slot (slots = 1)" if most == 1 else f"1 to {most} slots"
            raise ValueError(
                f"shelf {self.name}: profile {self.profile.name} drives {allowed} per device id,"
                f" not {self.slots}"
            )


@dataclass(slots=True)
class ControllerStats:
    """What the bus did with one controller since it started."""

    writes: int = 0  # write requests answered (FC15, FC16)
    polls: int = 0  # button reads answered (FC02, FC04)
    failures: int = 0  # requests refused, unanswered or answered too late
    probes: int = 0  # tries while the controller was marked down
    restores: int = 0  # passes that wrote the whole desired state (first contact, each return)
    heartbeats: int = 0  # heartbeat reads answered (FC03 or FC04, once a second at most)
    restarts: int = 0  # restarts seen by the heartbeat going back between two reads
    discarded: int = 0  # replies thrown away: late ones, or not answering the request out


@dataclass(slots=True)
class ControllerState:
    """The bus's working state for one controller."""

    spec: ControllerSpec
    desired: list[SlotLight]
    # Plane name -> value per slot known to be in the controller (None: unknown). None as a
    # whole: nothing is known, the whole desired state must be written.
    written: dict[str, list[int | None]] | None = None
    dirty: bool = True  # the desired state changed since the last pass that wrote it
    buttons: list[int] | None = None  # what the last poll read
    failures: int = 0  # in a row
    up: bool | None = None  # None until the first answer or the first time it is marked down
    next_probe: float = 0.0
    heartbeat: tuple[int, float] | None = None  # the heartbeat last read, and when
    stats: ControllerStats = field(default_factory=ControllerStats)

    @classmethod
    def dark(cls, spec: ControllerSpec) -> ControllerState:
        """A controller whose desired state is every slot dark."""
        return cls(spec, [DARK] * spec.slots)

    def forget_written(self) -> None:
        """After a failure the controller may have lost its registers (a reboot): write the
        whole desired state on the next success."""
        self.written = None
