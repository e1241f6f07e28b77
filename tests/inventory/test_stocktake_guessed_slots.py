"""A handheld that reports no signal strength, held at a slot, reads the location tags of the
slot and of its neighbours alike. A round that misses the tag behind reads what it would read
at the next slot (at the shelf's end: at the end slot): that slot is a guess, passed only once
confirmed, and taken back, with the packs read meanwhile, when the tag behind is read again."""

from __future__ import annotations

from collections.abc import Sequence

from inventory.stocktake.sweep import GUESS_ROUNDS, Sweep
from tests.inventory.test_stocktake_ties import SIX, pack


def read(sweep: Sweep, places: Sequence[int], packs: Sequence[int] = ()) -> None:
    """One round reading the location tags at `places` (in `SIX`) alike, and `packs`."""
    for place in places:
        sweep.location(SIX[place], "", 0)
    for n in packs:
        sweep.pack(pack(n), 0)
    sweep.round_done()


def field(at: int) -> list[int]:
    """The places whose location tags the handheld reads held at place `at`."""
    return [place for place in (at - 1, at, at + 1) if 0 <= place < len(SIX)]


def swept(stops: Sequence[int], rounds: int = 3) -> Sweep:
    """A sweep held `rounds` rounds at each of `stops`, reading each slot's pack there."""
    sweep = Sweep("st-1", "A", SIX, "Ana")
    for at in stops:
        for _ in range(rounds):
            read(sweep, field(at), [at])
    return sweep


def test_the_tag_behind_missed_two_rounds_in_a_row_does_not_count_the_end_slot() -> None:
    # Held at A-05, A-04's tag missed in two rounds: A-05 and A-06 read alike twice.
    for then in ([], [[3, 4, 5]]):  # lowered at once, or A-04's tag read again first
        sweep = swept([0, 1, 2, 3, 4])
        for _ in range(2):
            read(sweep, [4, 5], [4])
        for places in then:
            read(sweep, places, [4])
        sweep.settle()
        assert "A-06" not in sweep.passed, then
        assert sweep.passed == set(SIX[:5])
    assert sweep.here == "A-05"
    assert sweep.seen() == {pack(n).epc: SIX[n] for n in range(5)}


def test_the_tag_behind_missed_two_rounds_in_a_row_does_not_count_the_first_slot() -> None:
    sweep = swept([4, 3, 2, 1])  # back along the shelf from A-05, stopped at A-02
    for _ in range(2):
        read(sweep, [0, 1], [1])  # A-03's tag missed
    sweep.settle()
    assert sweep.passed == set(SIX[1:5])


def test_three_rounds_in_a_row_at_the_end_slot_count_it() -> None:
    for stay in range(1, GUESS_ROUNDS + 2):
        sweep = swept([0, 1, 2, 3, 4])
        for _ in range(stay):
            read(sweep, [4, 5], [5])
        sweep.settle()
        assert ("A-06" in sweep.passed) == (stay >= GUESS_ROUNDS), stay
        # Its pack is found there either way: not counted is not missing.
        assert sweep.seen()[pack(5).epc] == "A-06"


def test_arriving_at_the_slot_before_the_end_with_the_tag_behind_missed() -> None:
    # From A-04 to A-05: its first round misses A-04's tag and reads A-05 and A-06 alike.
    sweep = swept([0, 1, 2, 3])
    read(sweep, [4, 5], [4])
    assert "A-06" not in sweep.passed
    read(sweep, field(4), [4])
    read(sweep, field(4), [4])
    sweep.settle()
    assert (sweep.passed, sweep.here) == (set(SIX[:5]), "A-05")
    assert sweep.seen()[pack(4).epc] == "A-05"


def test_a_sweep_stopped_mid_shelf_after_a_round_missing_the_tag_behind() -> None:
    # From A-02 to A-03, whose first round misses A-02's tag (A-03 and A-04 alike): stopped
    # there, A-04 was never reached, nor counted; neither is A-03, reached by that round alone.
    sweep = swept([0, 1])
    read(sweep, [2, 3], [2])
    sweep.settle()
    assert sweep.passed == {"A-01", "A-02"}
    # Held at A-03 for more rounds, A-02's tag read again: A-03 is counted, A-04 still not.
    sweep = swept([0, 1])
    read(sweep, [2, 3], [2])
    read(sweep, field(2), [2])
    sweep.settle()
    assert (sweep.passed, sweep.here) == ({"A-01", "A-02", "A-03"}, "A-03")
    assert sweep.seen()[pack(2).epc] == "A-03"


def test_a_guess_is_passed_once_a_round_reads_a_tag_beyond_it() -> None:
    sweep = swept([0, 1])
    read(sweep, [2, 3])
    read(sweep, [3, 4])  # A-04 was reached
    assert sweep.passed == {"A-01", "A-02", "A-04"}
    read(sweep, field(4))  # at A-05
    assert sweep.passed == {"A-01", "A-02", "A-04", "A-05"}


def test_packs_read_while_a_guess_is_taken_back_stay_where_the_handheld_was() -> None:
    # A pack booked in A-02, found in A-05: read in the last round there, then in the round
    # missing A-04's tag; A-04's tag read again, the pack not. It was read at A-05 both times.
    stray = pack(9)
    sweep = swept([0, 1, 2, 3])
    read(sweep, field(4))
    read(sweep, field(4), [9])
    read(sweep, [4, 5], [9])
    read(sweep, field(4))
    assert sweep.seen({stray.epc: "A-02"}) == {
        **{pack(n).epc: SIX[n] for n in range(4)},
        stray.epc: "A-05",
    }
    assert "A-06" not in sweep.passed
