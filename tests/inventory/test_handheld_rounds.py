"""A handheld's held reads belong to their round: a round that ends decides them, one that does
not (its end lost, the handheld down and back) decides nothing, and none of its reads or its
location tag is carried into the next round."""

from __future__ import annotations

from inventory.codes.identifiers import EpcDecoder, PackId
from inventory.stocktake.handheld_rounds import HandheldRounds

DECODE = EpcDecoder().decode


def pack(n: int) -> PackId:
    found = DECODE(bytes.fromhex(f"3034257BF7194E40{n:08X}"))
    assert isinstance(found, PackId)
    return found


def picking() -> HandheldRounds:
    return HandheldRounds(lambda: {"rx-1": ""})  # one list open, for every handheld


def test_a_round_that_ends_picks_what_it_read() -> None:
    rounds = picking()
    rounds.hold("hh", pack(1), 0)
    assert rounds.round_done("hh", waiting=False) == [pack(1)]
    assert rounds.picks("hh")


def test_the_reads_of_a_round_cut_short_are_not_picks_of_the_next() -> None:
    rounds = picking()
    rounds.hold("hh", pack(1), 0)
    rounds.cut("hh")
    assert rounds.round_done("hh", waiting=False) == []
    rounds.hold("hh", pack(2), 0)
    assert rounds.round_done("hh", waiting=False) == [pack(2)]
    assert rounds.round_done("hh", waiting=False) == []


def test_a_location_tag_read_in_a_round_cut_short_does_not_make_the_next_a_sweep() -> None:
    rounds = picking()
    rounds.swept("hh")
    rounds.hold("hh", pack(1), 0)
    rounds.cut("hh")
    rounds.hold("hh", pack(2), 0)
    assert rounds.round_done("hh", waiting=False) == [pack(2)]


def test_a_handheld_down_or_back_drops_its_round_and_the_rounds_held_before() -> None:
    rounds = HandheldRounds(dict)  # no list open: rounds are held for a count waiting
    rounds.hold("hh", pack(1), 0)
    assert rounds.round_done("hh", waiting=True) == []
    rounds.swept("hh")
    rounds.hold("hh", pack(2), 0)
    rounds.gone("hh")
    assert list(rounds.take("hh")) == [[]]
    rounds.hold("other", pack(3), 0)
    rounds.gone("hh")  # another handheld's rounds are its own
    assert list(rounds.take("other")) == [[(pack(3), 0)]]


def test_a_cut_keeps_the_rounds_that_ended_for_the_count_waiting() -> None:
    rounds = HandheldRounds(dict)
    rounds.hold("hh", pack(1), -40)
    assert rounds.round_done("hh", waiting=True) == []
    rounds.hold("hh", pack(2), -50)
    rounds.cut("hh")
    assert list(rounds.take("hh")) == [[(pack(1), -40)], []]


def test_a_handheld_back_picks_again_when_a_round_ends() -> None:
    rounds = picking()
    rounds.swept("hh")
    rounds.hold("hh", pack(1), 0)
    rounds.gone("hh")
    assert rounds.round_done("hh", waiting=False) == []
    rounds.hold("hh", pack(1), 0)
    assert rounds.round_done("hh", waiting=False) == [pack(1)]
