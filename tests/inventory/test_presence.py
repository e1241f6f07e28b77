"""Presence on the shelf, judged from sightings over time."""

from __future__ import annotations

from inventory.codes.identifiers import PackId
from inventory.stock.presence import Arrived, Left, Moved, PresenceTracker

P1 = PackId("urn:epc:id:sgtin:4012345.012345.1", "04012345123456", "1")
P2 = PackId("urn:epc:id:sgtin:4012345.012345.2", "04012345123456", "2")


def test_unknown_pack_arrives_once_its_slot_has_seen_it_for_the_dwell_time() -> None:
    tracker = PresenceTracker(dwell=5)
    assert tracker.seen(P1, "A-01", now=0) is None
    assert tracker.seen(P1, "A-02", now=1) is None  # a neighbouring antenna, for a moment
    assert tracker.seen(P1, "A-01", now=4.9) is None
    assert tracker.seen(P1, "A-01", now=5) == Arrived(P1, "A-01")
    assert tracker.seen(P1, "A-01", now=6) is None
    assert tracker.seen(P1, "A-02", now=6) is None  # now a sighting elsewhere, not an arrival
    assert tracker.slot_of(P1.epc) == "A-01"


def test_a_pack_read_in_passing_never_arrives() -> None:
    tracker = PresenceTracker(dwell=5)
    assert tracker.seen(P1, "A-01", now=0) is None
    assert tracker.overdue(now=5) == []
    assert tracker.seen(P1, "A-01", now=6) is None  # seen again after a pause: starts anew
    assert tracker.seen(P1, "A-01", now=10) is None
    assert tracker.seen(P1, "A-01", now=11) == Arrived(P1, "A-01")


def test_pack_not_seen_for_the_dwell_time_has_left() -> None:
    tracker = PresenceTracker(dwell=5)
    tracker.seed({P1.epc: "A-01", P2.epc: "A-01"}, now=0)
    tracker.seen(P2, "A-01", now=4)
    assert tracker.overdue(now=4.9) == []
    assert tracker.overdue(now=5.0) == [Left(P1.epc, "A-01")]
    assert tracker.overdue(now=8.0) == []
    assert tracker.overdue(now=9.0) == [Left(P2.epc, "A-01")]
    assert tracker.slot_of(P1.epc) is None


def test_pack_seen_only_elsewhere_has_moved() -> None:
    tracker = PresenceTracker(dwell=5)
    tracker.seed({P1.epc: "A-01"}, now=0)
    tracker.seen(P1, "A-02", now=1)
    tracker.seen(P1, "A-02", now=4.5)
    assert tracker.overdue(now=5) == []  # A-02 has seen it for less than the dwell time yet
    tracker.seen(P1, "A-02", now=6)
    assert tracker.overdue(now=6) == [Moved(P1.epc, "A-01", "A-02")]
    assert tracker.slot_of(P1.epc) == "A-02"
    assert tracker.overdue(now=10) == []


def test_pack_read_elsewhere_only_in_passing_has_left() -> None:
    tracker = PresenceTracker(dwell=5)
    tracker.seed({P1.epc: "A-01"}, now=0)
    tracker.seen(P1, "A-02", now=4)  # carried past A-02's antenna
    assert tracker.overdue(now=5) == []
    assert tracker.overdue(now=9) == [Left(P1.epc, "A-01")]


def test_pack_seen_in_two_zones_stays_where_it_is() -> None:
    tracker = PresenceTracker(dwell=5)
    tracker.seed({P1.epc: "A-01"}, now=0)
    for t in range(1, 20):
        tracker.seen(P1, "A-01", now=t)
        tracker.seen(P1, "A-02", now=t)
        assert tracker.overdue(now=t) == []


def test_packs_in_unwatched_slots_are_not_judged_gone() -> None:
    tracker = PresenceTracker(dwell=5)
    tracker.seed({P1.epc: "A-01", P2.epc: "A-02"}, now=0)
    assert tracker.overdue(now=10, unwatched={"A-01"}) == [Left(P2.epc, "A-02")]
    tracker.watched_again({"A-01"}, now=10)  # the reader is back: a full dwell to be seen
    assert tracker.overdue(now=14) == []
    assert tracker.overdue(now=15) == [Left(P1.epc, "A-01")]


def test_a_pack_is_still_seen_only_while_its_reader_reads_it_where_it_is_tracked() -> None:
    tracker = PresenceTracker(dwell=5)
    tracker.seed({P1.epc: "A-01", P2.epc: "A-02"}, now=0)
    assert tracker.still_seen(now=1) == {}, "booked there is not seen there"
    tracker.seen(P1, "A-01", now=2)
    tracker.seen(P2, "A-03", now=2)  # elsewhere, for a moment: not where it is tracked
    assert tracker.still_seen(now=6.9) == {P1.epc: "A-01"}
    assert tracker.still_seen(now=7) == {}
