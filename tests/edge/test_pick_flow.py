"""Pick lists over time on the running daemon: two pickers on one slot, the older list shown
first, an untouched list is reminded and times out, a tag leaving its fixed-reader zone or read
by the handheld confirms a pick, a list is cancelled from the command line, and a restart (even
after longer than a list's timeout) carries on where it stopped."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path

from drivers.modbus.lights import DARK, SlotLight
from drivers.modbus.profile import Colour, Mode
from edge.demo.local_broker import LocalBroker
from inventory.codes.identifiers import EpcDecoder, PackId
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.pick_rig import AMOX, PREFIX, TAGGED, results, start_rig, statuses, stop_rig

TAGGED_ID = EpcDecoder().decode(TAGGED)
assert isinstance(TAGGED_ID, PackId)


def send(centre: Subscriber, name: str, body: dict[str, object]) -> None:
    centre.publish(f"{PREFIX}/cmd/{name}", json.dumps(with_envelope(body)))


async def test_two_pick_lists_on_one_slot_show_the_older_alone_until_its_packs_there_are_taken(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    rig = await start_rig(tmp_path, broker)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        send(centre, "pick", {"pick_id": "rx-a", "lines": [{"gtin": AMOX, "quantity": 3}]})
        await eventually(lambda: statuses(centre, "rx-a") == ["accepted"])
        send(centre, "pick", {"pick_id": "rx-b", "lines": [{"gtin": AMOX, "quantity": 1}]})
        await eventually(lambda: statuses(centre, "rx-b") == ["accepted"])
        # rx-a holds A-02 (1) and two of A-01's three; rx-b gets A-01's last one.
        green = SlotLight(True, Colour.GREEN, Mode.STEADY, 2)
        blue = SlotLight(True, Colour.BLUE, Mode.STEADY, 1)
        await eventually(lambda: rig.shows("A-01", green), what="the older list's green 2")
        await rig.shows_only("A-01", green)  # no turns: blue never shows meanwhile
        assert await rig.light("A-02") == SlotLight(True, Colour.GREEN, Mode.STEADY, 1)
        await rig.press("A-01", times=2)
        await eventually(lambda: rig.shows("A-01", blue), what="the younger's blue once taken")
        assert rig.picks() == [("A-01", "LATE", "rx-a")] * 2
    finally:
        await stop_rig(rig)


async def test_an_untouched_list_is_reminded_then_times_out_and_frees_its_slots(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    picking = {"remind_after_seconds": 1.0, "timeout_seconds": 2.5, "mistake_seconds": 5}
    rig = await start_rig(tmp_path, broker, picking=picking)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        send(centre, "pick", {"pick_id": "rx-idle", "lines": [{"gtin": AMOX, "quantity": 1}]})
        slow = SlotLight(True, Colour.GREEN, Mode.SLOW_BLINK, 1)
        await eventually(lambda: rig.shows("A-02", slow), what="slow blink reminder")
        await eventually(lambda: rig.shows("A-02", DARK), what="slot freed at the timeout")
        await eventually(
            lambda: statuses(centre, "rx-idle") == ["accepted", "reminder", "timed_out"],
            what="reminder and timeout reported",
        )
        assert rig.picks() == []
    finally:
        await stop_rig(rig)


async def test_a_tag_leaving_its_zone_confirms_the_pick(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    rig = await start_rig(tmp_path, broker)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        rig.reader.place(1, TAGGED)
        await eventually(lambda: any("put_away" in a.text for a in rig.activity))
        send(
            centre, "pick", {"pick_id": "rx-t", "lines": [{"gtin": TAGGED_ID.gtin, "quantity": 1}]}
        )
        lit = SlotLight(True, Colour.GREEN, Mode.STEADY, 1)
        await eventually(lambda: rig.shows("A-08", lit), what="A-08 lit")
        rig.reader.remove(TAGGED)
        await eventually(
            lambda: "done" in statuses(centre, "rx-t"), what="booked by the tag leaving"
        )
        assert rig.picks() == [("A-08", "", "rx-t")]
        progress = [r for r in centre.payloads("/cmd-result") if r["status"] == "progress"]
        assert progress[0]["confirmed_by"] == "tag left the shelf"
        await eventually(lambda: rig.shows("A-08", DARK))
    finally:
        await stop_rig(rig)


async def test_the_handheld_confirms_a_pick_once(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    rig = await start_rig(tmp_path, broker, presence={"dwell_seconds": 5.0})
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        rig.reader.place(1, TAGGED)
        await eventually(lambda: any("put_away" in a.text for a in rig.activity))
        send(
            centre, "pick", {"pick_id": "rx-h", "lines": [{"gtin": TAGGED_ID.gtin, "quantity": 1}]}
        )
        await eventually(lambda: statuses(centre, "rx-h") == ["accepted"])
        rig.reader.remove(TAGGED)  # taken off the shelf, read with the handheld
        rig.handheld.present([TAGGED])
        await eventually(lambda: "done" in statuses(centre, "rx-h"), what="booked by the handheld")
        progress = [r for r in centre.payloads("/cmd-result") if r["status"] == "progress"]
        assert [p["confirmed_by"] for p in progress] == ["tag (hh)"]
        await asyncio.sleep(0.5)  # the handheld keeps reading the pack: still booked once
        assert rig.picks() == [("A-08", "", "rx-h")]
    finally:
        await stop_rig(rig)


async def test_cancel_from_the_command_line_frees_the_slots(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    rig = await start_rig(tmp_path, broker)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        send(centre, "pick", {"pick_id": "rx-c", "lines": [{"gtin": AMOX, "quantity": 1}]})
        lit = SlotLight(True, Colour.GREEN, Mode.STEADY, 1)
        await eventually(lambda: rig.shows("A-02", lit), what="lit")
        cancel = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "edge.cli.main",
            "pick",
            "--cancel",
            "rx-c",
            "--broker",
            broker.url,
            "--site",
            "s1",
            "--gateway",
            "g1",
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(cancel.communicate(), 20)
        assert cancel.returncode == 0, out
        assert "rx-c: cancelled" in out.decode()
        await eventually(lambda: rig.shows("A-02", DARK), what="dark after cancel")
        assert statuses(centre, "rx-c") == ["accepted", "cancelled"]
    finally:
        await stop_rig(rig)


async def test_pressing_a_shared_slot_too_often_books_nothing_for_the_other_picker(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    rig = await start_rig(tmp_path, broker)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        send(centre, "pick", {"pick_id": "rx-g", "lines": [{"gtin": AMOX, "quantity": 3}]})
        await eventually(lambda: statuses(centre, "rx-g") == ["accepted"])
        send(centre, "pick", {"pick_id": "rx-b", "lines": [{"gtin": AMOX, "quantity": 1}]})
        await eventually(lambda: statuses(centre, "rx-b") == ["accepted"])
        # A-01 shows green 2 (rx-g, the older list) alone: its picker takes the two packs and
        # presses three times.
        green = SlotLight(True, Colour.GREEN, Mode.STEADY, 2)
        blue = SlotLight(True, Colour.BLUE, Mode.STEADY, 1)
        await eventually(lambda: rig.shows("A-01", green), what="green's")
        await rig.press("A-01", times=3)
        await eventually(lambda: len(rig.picks()) >= 2, what="green's two packs booked")
        # The extra press is not a pack taken for the blue list: its light stays.
        await eventually(lambda: rig.shows("A-01", blue), what="blue still lit for its pack")
        assert rig.picks() == [("A-01", "LATE", "rx-g"), ("A-01", "LATE", "rx-g")]
        assert "progress" not in statuses(centre, "rx-b")
    finally:
        await stop_rig(rig)


async def test_a_daemon_restart_mid_list_lights_what_is_left_and_books_nothing_twice(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    rig = await start_rig(tmp_path, broker)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        send(centre, "pick", {"pick_id": "rx-r", "lines": [{"gtin": AMOX, "quantity": 3}]})
        await eventually(lambda: rig.shows("A-02", SlotLight(True, Colour.GREEN, Mode.STEADY, 1)))
        await rig.press("A-02")
        await eventually(lambda: rig.shows("A-02", DARK), what="A-02 picked")
        await rig.stop_daemon()  # the shelf controller and the readers go on
        await rig.start_daemon()
        # Presses before the new daemon's first poll are its starting count, not presses.
        await eventually(
            lambda: [a.text for a in rig.activity].count("A is up") == 2, what="polled again"
        )
        two = SlotLight(True, Colour.GREEN, Mode.STEADY, 2)
        await eventually(lambda: rig.shows("A-01", two), what="A-01 still lit after the restart")
        assert await rig.light("A-02") == DARK and rig.picks() == [("A-02", "EARLY", "rx-r")]
        await rig.press("A-01", times=2)
        await eventually(lambda: "done" in statuses(centre, "rx-r"), what="done after restart")
        # The shelf is down to its reorder point: the list's green gives way to the shortage.
        shortage = SlotLight(True, Colour.AMBER, Mode.STEADY, 0)
        await eventually(lambda: rig.shows("A-01", shortage), what="no longer lit for the list")
        assert [slot for slot, _, _ in rig.picks()] == ["A-02", "A-01", "A-01"]
        # Sent at least once: a report not yet acknowledged at the stop is sent again.
        progress = [r for r in results(centre, "rx-r") if r["status"] == "progress"]
        assert sorted({int(str(r["picked"])) for r in progress}) == [1, 2, 3]
    finally:
        await stop_rig(rig)


async def test_a_list_carries_on_after_a_power_cut_longer_than_its_timeout(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    """The daemon is off for two minutes, twice the list's timeout (60 s): the time it was not
    running is no picker's idle time, so the list is neither timed out nor reminded at the
    restart, and its presses book picks."""
    rig = await start_rig(tmp_path, broker)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        send(centre, "pick", {"pick_id": "rx-cut", "lines": [{"gtin": AMOX, "quantity": 2}]})
        one = SlotLight(True, Colour.GREEN, Mode.STEADY, 1)
        await eventually(lambda: rig.shows("A-01", one), what="A-01 lit for its pack")
        await rig.after_power_cut(120.0)  # the wall clock two minutes on when it comes back
        await rig.press("A-02")
        await eventually(lambda: "progress" in statuses(centre, "rx-cut"), what="A-02 booked")
        await rig.press("A-01")
        await eventually(lambda: "done" in statuses(centre, "rx-cut"), what="done")
        # Sent at least once: the answer not yet acknowledged at the stop may come again.
        assert set(statuses(centre, "rx-cut")) == {"accepted", "progress", "done"}
        assert [slot for slot, _, _ in rig.picks()] == ["A-02", "A-01"]
    finally:
        await stop_rig(rig)


async def test_a_wrong_pack_held_to_the_handheld_is_reported_once(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    rig = await start_rig(tmp_path, broker)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        rig.reader.place(1, TAGGED)
        await eventually(lambda: any("put_away" in a.text for a in rig.activity))
        send(centre, "pick", {"pick_id": "rx-w", "lines": [{"gtin": AMOX, "quantity": 1}]})
        await eventually(lambda: statuses(centre, "rx-w") == ["accepted"])
        rig.handheld.present([TAGGED])  # not on the list; the handheld goes on reading it
        await eventually(lambda: "mistake" in statuses(centre, "rx-w"), what="caught")
        assert rig.gateway is not None
        reads = rig.gateway.counters["tag_reads"]
        started = asyncio.get_running_loop().time()
        # Past the handheld's repeat time (2 s), reading on all the while.
        await eventually(
            lambda: (
                asyncio.get_running_loop().time() - started > 2.5
                and rig.gateway is not None
                and rig.gateway.counters["tag_reads"] > reads + 10
            ),
            what="the handheld reading on",
        )
        assert statuses(centre, "rx-w") == ["accepted", "mistake"], "one mistake, one report"
    finally:
        await stop_rig(rig)
