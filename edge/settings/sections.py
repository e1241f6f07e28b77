"""Configuration sections for behaviour rather than hardware: picking, stocktake, alarms,
procurement, commands from the network, devices' health, metrics. Part of
edge.settings.config."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from edge.service.metrics_address import DEFAULT_LISTEN
from edge.settings.limits import listen_problem


class Strict(BaseModel):
    """A part of the configuration: a key it does not know is refused, and it never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


ColourName = Literal["green", "red", "amber", "blue", "white"]
DEFAULT_COLOURS: tuple[ColourName, ...] = ("green", "blue", "white", "amber")


class PickingConfig(Strict):
    remind_after_seconds: Annotated[float, Field(gt=0, le=86400)] = 120.0
    timeout_seconds: Annotated[float, Field(gt=0, le=86400)] = 600.0
    mistake_seconds: Annotated[float, Field(gt=0, le=3600)] = 30.0
    locate_seconds: Annotated[float, Field(gt=0, le=600)] = 30.0
    colours: Annotated[list[ColourName], Field(min_length=4, max_length=4)] = Field(
        default_factory=lambda: list(DEFAULT_COLOURS)
    )

    @model_validator(mode="after")
    def _sane(self) -> PickingConfig:
        if self.timeout_seconds <= self.remind_after_seconds:
            raise ValueError(
                f"timeout_seconds ({self.timeout_seconds}) must be above remind_after_seconds "
                f"({self.remind_after_seconds}), or no reminder would ever show"
            )
        if "red" in self.colours:
            raise ValueError("red is kept for mistakes; choose pickers' colours without it")
        if len(set(self.colours)) != len(self.colours):
            raise ValueError("each picker needs a colour of its own")
        return self


class CommandsConfig(Strict):
    rate_per_second: Annotated[float, Field(gt=0, le=10_000)] = 10.0
    burst: Annotated[float, Field(ge=1, le=100_000)] = 30.0
    max_expiry_seconds: Annotated[float, Field(gt=0, le=7 * 86400)] = 86400.0


class StocktakeConfig(Strict):
    idle_end_seconds: Annotated[float, Field(gt=0, le=3600)] = 10.0
    # A badge confirms the report just finished only this long after its sweep ended (0: never),
    # so that a badge tapped later for something else (logging in to the page) confirms nothing.
    badge_confirm_seconds: Annotated[float, Field(ge=0, le=3600)] = 120.0
    # A sweep waits this long for its handheld: for its first read, once started by command
    # (the pharmacist on the way to the shelf), and for its return when it goes down (a loose
    # cable, a battery changed); longer, it is abandoned: nothing read, or what it read is no
    # longer what the shelf holds.
    handheld_wait_seconds: Annotated[float, Field(gt=0, le=86400)] = 900.0


class AlarmsConfig(Strict):
    near_expiry_days: Annotated[int, Field(ge=0, le=3650)] = 60
    # Beyond this many messages waiting, event streams and then command answers are dropped
    # (oldest first, counted); procurement requests and alarms never are.
    outbox_max_messages: Annotated[int, Field(ge=1000)] = 100_000
    expiry_sweep_at: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] = "00:00"
    backlog_messages: Annotated[int, Field(ge=1)] = 1000
    backlog_age_seconds: Annotated[float, Field(gt=0)] = 900.0


class ProcurementConfig(Strict):
    # A request the centre has not answered this long after the broker took it is sent again
    # (the same request_id, its priority now, `sent_again`), and again each time this long passes.
    resend_after_hours: Annotated[float, Field(ge=0.25, le=30 * 24)] = 4.0


class DevicesConfig(Strict):
    down_alarm_seconds: Annotated[float, Field(ge=0, le=86400)] = 30.0
    # A device (or an antenna) down this many times within flap_window_seconds raises
    # device_down however short each drop; that alarm clears once it has stayed up for
    # flap_window_seconds.
    flap_drops: Annotated[int, Field(ge=2, le=1000)] = 5
    flap_window_seconds: Annotated[float, Field(gt=0, le=86400)] = 600.0
    # The same log line (a flapping device, a flood of bad input) at most this often a minute.
    log_repeats_per_minute: Annotated[int, Field(ge=1, le=10_000)] = 30


class MetricsConfig(Strict):
    # host:port of the Prometheus endpoint (/metrics), [::1]:9464 for IPv6; "" turns it off.
    listen: str = DEFAULT_LISTEN
    refresh_seconds: Annotated[float, Field(gt=0, le=300)] = 5.0  # gauges read from the ledger

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        problem = listen_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value
