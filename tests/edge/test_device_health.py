"""When a device deserves its device_down alarm, on the caller's clock: after staying down for
the down time; or after dropping again and again, however short each drop (its reason says how
many in how long), that alarm clearing only once the device has stayed up for the window.
Antennas alike."""

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


def test_an_antenna_failing_between_good_rounds_drops_like_a_device() -> None:
    """A loose antenna: each failure longer than the down time, a good round between. Its
    first failures raise and clear as outages; once they reach flap_drops it is alarmed for its
    drops, and that alarm stays through every good round until it has read for the window."""
    health = DeviceHealth(2.0, flap_drops=3, flap_seconds=60.0)
    about = {"device": "r1", "antenna": 2}
    raised, cleared = [], 0
    for n in range(8):  # 3 s failing, 1 s reading
        health.down("r1-antenna-2", "antenna missing", n * 4.0, about)
        for tick in (0.5, 2.5):
            raised += health.due(n * 4.0 + tick)
        cleared += health.up("r1-antenna-2", n * 4.0 + 3.0)
    assert [detail["reason"] for _, detail in raised] == [
        "antenna missing",
        "antenna missing",
        "down 3 times in 1 min (the latest: antenna missing)",
    ]
    assert raised[-1][1]["antenna"] == 2 and cleared == 2
    assert health.alarmed("r1-antenna-2"), "still alarmed at its good rounds"
    assert health.settled(7 * 4.0 + 3.0 + 59.0) == []
    assert health.settled(7 * 4.0 + 3.0 + 60.0) == ["r1-antenna-2"]


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


def test_one_check_raises_one_alarm_for_drops_when_down_time_and_drops_are_both_reached() -> None:
    """Both reached at one check (the check came late): it keeps dropping, so its alarm is the
    one for its drops, which its return does not clear."""
    health = DeviceHealth(0.9, flap_drops=5, flap_seconds=600.0)
    now = flapping(health, "r1", 0.0, 4)
    health.down("r1", "port closed", now)
    [(device, detail)] = health.due(now + 1.0)
    assert device == "r1" and detail["drops"] == 5
    assert not health.up("r1", now + 1.5)


def test_an_antenna_alarm_held_for_its_drops_waits_out_its_readers_outage() -> None:
    """The reader down for longer than the window: the antenna read nothing then, so its alarm
    neither clears nor is raised afresh; its window starts at its first good round after."""
    health = DeviceHealth(2.0, flap_drops=3, flap_seconds=6.0)
    now = flapping(health, "r1-antenna-2", 0.0, 2)
    health.down("r1-antenna-2", "antenna missing", now)
    assert [device for device, _ in health.due(now)] == ["r1-antenna-2"]
    health.up("r1-antenna-2", now + 0.5)
    assert health.reads_between_failures("r1-antenna-2", now + 0.5)
    health.unreachable(["r1-antenna-1", "r1-antenna-2"])  # the reader unplugged
    assert not health.reads_between_failures("r1-antenna-2", now + 1.0), "it reads nothing"
    assert health.settled(now + 20.0) == [] and health.due(now + 20.0) == []
    health.reachable(["r1-antenna-1", "r1-antenna-2"], now + 20.0)
    health.down("r1-antenna-2", "antenna missing", now + 20.5)  # back, the antenna still loose
    assert health.due(now + 21.0) == [] and health.alarmed("r1-antenna-2")
    assert not health.reads_between_failures("r1-antenna-2", now + 22.5), "no good round for 2 s"
    assert not health.up("r1-antenna-2", now + 23.0)
    assert health.settled(now + 28.9) == []
    assert health.settled(now + 29.0) == ["r1-antenna-2"]


def test_an_antenna_down_when_its_reader_went_down_gets_the_down_time_after_its_return() -> None:
    health = DeviceHealth(2.0, flap_drops=3, flap_seconds=6.0)
    health.down("r1-antenna-2", "antenna missing", 0.0)
    health.unreachable(["r1-antenna-2"])
    assert health.due(10.0) == [], "alarmed while its reader was down"
    health.reachable(["r1-antenna-2"], 10.0)
    assert health.due(11.9) == []
    assert [device for device, _ in health.due(12.0)] == ["r1-antenna-2"]
