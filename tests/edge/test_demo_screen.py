"""The demo's live screen fits the terminal it is drawn on, down to the common 80 x 24: a line
wider than the terminal wraps, the frame outgrows the screen and every redraw scrolls."""

from __future__ import annotations

import re

from drivers.modbus.lights import SlotLight
from drivers.modbus.profile import Colour, Mode
from edge.demo.screen import Board, ansi_frame
from edge.demo.stock import product_names, slot_labels

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def test_live_frame_fits_an_80_by_24_terminal() -> None:
    lights = [SlotLight(True, Colour.GREEN, Mode.FAST_BLINK, 12) for _ in range(24)]
    board = Board(
        lights=lights,
        labels=slot_labels(),
        names=product_names(),
        colours=["green", "blue"],
        activity=[f"[ {n:5.1f}s] movement  " + "put away a pack " * 8 for n in range(30)],
    )
    frame = ansi_frame(board, "rxedge demo: header " * 6, 0, 0.0, 80, 24)
    rows = ANSI.sub("", frame).split("\n")
    assert all(len(row) <= 80 for row in rows), [r for r in rows if len(r) > 80]
    assert len(rows) <= 24, "taller than the screen: it scrolls on every redraw"
