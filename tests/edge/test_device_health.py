"""When a device deserves its device_down alarm, on the caller's clock: after staying down for
the down time; or after dropping again and again, however short each drop (its reason says how
many in how long), that alarm clearing only once the device has stayed up for the window. An
antenna's failed rounds between good ones never count as drops."""

from __future__ import annotations

from edge.daemon.device_health import DeviceHealth


def flapping(health: DeviceHealth, device: str, start: float, times: int) -> float:
    """`device` down and back up every second from `start`, `times` times; when it ended."""
    now = start
    for _ in range(times):
        health.down(device, "port closed", now)
        assert health.due(now + 0.5) == []
        assert not health.up(device, now + 0.5)
        now += 1.0
    return now


def test_a_device_down_every_second_raises_its_alarm_and_clears_once_it_stayed_up() -> None:
    health = DeviceHealth(30.0, flap_drops=5, flap_seconds=600.0)
    now = flapping(health, "r1", 0.0, 4)
    health.down("r1", "port closed", now)
    [(device, detail)] = health.due(now)
    assert (device, detail) == (
        "r1",
        {
            "device": "r1",
            "reason": "down 5 times in 10 min (the latest: port closed)",
            "drops": 5,
        },
    )
    assert health.alarmed("r1") and health.due(now + 1) == []
    assert not health.up("r1", now + 0.5), "its first return does not clear it"
    health.down("r1", "port closed", now + 100.0)  # it dropped again: the wait starts over
    assert not health.up("r1", now + 100.5)
    assert health.settled(now + 100.5 + 599.0) == []
    assert health.settled(now + 100.5 + 600.0) == ["r1"]
    assert not health.alarmed("r1") and health.settled(now + 2000.0) == []


def test_drops_spread_wider_than_the_window_raise_nothing() -> None:
    health = DeviceHealth(30.0, flap_drops=5, flap_seconds=600.0)
    for n in range(10):
        health.down("shelf-A", "no answer", n * 200.0)
        assert health.due(n * 200.0 + 1) == []
        health.up("shelf-A", n * 200.0 + 1)


def test_antennas_failing_between_good_rounds_are_not_drops() -> None:
    health = DeviceHealth(30.0, flap_drops=5, flap_seconds=600.0)
    about = {"device": "r1", "antenna": 2}
    for n in range(50):
        health.down("r1-antenna-2", "error 0x22", n * 1.0, about, drops=False)
        assert health.due(n * 1.0 + 0.5) == []
        health.up("r1-antenna-2", n * 1.0 + 0.5)


def test_a_device_staying_down_alarms_after_the_down_time_and_clears_on_return() -> None:
    health = DeviceHealth(30.0)
    health.down("r1", "port closed", 10.0)
    assert health.due(39.0) == []
    assert health.due(40.0) == [("r1", {"device": "r1", "reason": "port closed"})]
    assert health.up("r1", 41.0), "cleared at its return"
    assert not health.alarmed("r1")


def test_a_drops_alarm_from_before_a_restart_clears_only_once_the_device_stayed_up() -> None:
    health = DeviceHealth(30.0, flap_drops=5, flap_seconds=600.0)
    health.alarmed_before(["r1", "r2"], 0.0, for_drops={"r1"})
    assert not health.up("r1", 1.0), "its first sign of life does not clear it"
    assert health.up("r2", 1.0), "one alarmed for staying down clears on return"
    assert health.settled(600.0) == []
    assert health.settled(601.0) == ["r1"] and not health.alarmed("r1")


def test_one_check_raises_one_alarm_when_down_time_and_drops_are_both_reached() -> None:
    health = DeviceHealth(0.9, flap_drops=5, flap_seconds=600.0)
    now = flapping(health, "r1", 0.0, 4)
    health.down("r1", "port closed", now)
    assert [device for device, _ in health.due(now + 1.0)] == ["r1"]
