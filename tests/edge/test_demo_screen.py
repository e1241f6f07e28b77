"""The demo's live screen fits the terminal it is drawn on, down to the common 80 x 24: a line
wider than the terminal wraps, the frame outgrows the screen and every redraw scrolls. On a
screen that short, the panels that matter most (the alarms, the requests and where they stand)
stay whole; the pick lists and the stocktake fold first."""

from __future__ import annotations

import re

from drivers.modbus.lights import SlotLight
from drivers.modbus.profile import Colour, Mode
from edge.demo.ledger_file import Count, RequestState
from edge.demo.screen import Board, ansi_frame
from edge.demo.stock import AMOXICILLIN, OMEPRAZOLE, UNWATCHED, product_names, slot_labels
from inventory.alarms.lifecycle import Alarm, AlarmKind, AlarmState
from inventory.picking.lists import Allocation, ListLine, PickList
from inventory.stocktake.report import Found, SlotCount, StocktakeReport
from sync.procurement_feed import ReceivedRequest

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
ACTIVITY = [f"[ {n:5.1f}s] movement  " + "put away a pack " * 8 for n in range(30)]


def rows_of(frame: str) -> list[str]:
    return ANSI.sub("", frame).split("\n")


def fits(rows: list[str], width: int, height: int) -> None:
    assert all(len(row) <= width for row in rows), [r for r in rows if len(r) > width]
    assert len(rows) <= height, "taller than the screen: it scrolls on every redraw"


def test_live_frame_fits_an_80_by_24_terminal() -> None:
    lights = [SlotLight(True, Colour.GREEN, Mode.FAST_BLINK, 12) for _ in range(24)]
    board = Board(
        lights=lights,
        labels=slot_labels(),
        names=product_names(),
        colours=["green", "blue"],
        activity=ACTIVITY,
    )
    fits(rows_of(ansi_frame(board, "rxedge demo: header " * 6, 0, 0.0, 80, 24)), 80, 24)


def busy_board() -> Board:
    """The fullest moment: two lists open, a stocktake waiting, five live alarms, two requests
    answered by the centre, and a long activity log."""
    lists = [
        PickList(
            f"rx-100{n}",
            n,
            [ListLine(OMEPRAZOLE.gtin, 3, "", [Allocation(f"A-{9 + n:02d}", "OM4405", None, 3)])],
            0.0,
            0.0,
            picker=name,
        )
        for n, name in enumerate(("Ana", "Ben"))
    ]
    gone = Found("urn:x", UNWATCHED.batch.product.gtin, "2", "LT0921", None, "A-06", None)
    report = StocktakeReport(
        "st-A-20261206T101530", "A", "Ana", [SlotCount("A-06", 3, 2, missing=[gone])], []
    )
    alarms = [
        Alarm(AlarmKind.SHORTAGE, f"gtin-{n}", AlarmState.RAISED, "", {"name": f"Drug {n}"})
        for n in range(4)
    ]
    alarms.append(Alarm(AlarmKind.DISCREPANCY, "A", AlarmState.RAISED, "", {"shelf": "A"}))
    requests, states = [], {}
    for n, product in enumerate((OMEPRAZOLE, AMOXICILLIN)):
        body = {"request_id": f"r{n}", "quantity": 6, "name": product.name, "priority": "routine"}
        requests.append(ReceivedRequest("rxedge/v1/s/g/procurement/request", body))
        states[f"r{n}"] = RequestState(product.gtin, 6, "shipped", 0, "DESADV-1 on its way")
    return Board(
        lights=[SlotLight(False, Colour.GREEN, Mode.STEADY, 0) for _ in range(24)],
        labels=slot_labels(),
        names=product_names(),
        colours=["green", "blue"],
        lists=lists,
        alarms=alarms,
        requests=requests,
        states=states,
        count=Count(report.stocktake_id, "A", "ended", report),
        activity=ACTIVITY,
    )


def test_on_80_by_24_the_alarms_and_requests_stay_whole_and_some_activity_shows() -> None:
    rows = rows_of(ansi_frame(busy_board(), "rxedge demo: the fullest moment", 0, 0.0, 80, 24))
    fits(rows, 80, 24)
    text = "\n".join(rows)
    for n in range(4):
        assert f"shortage raised: Drug {n}" in text
    assert "discrepancy raised: shelf A" in text
    assert text.count("shipped   6 x ") == 2 and "(DESADV-1 on its way)" in text
    assert sum("put away a pack" in row for row in rows) >= 3, "no room left for activity"
    assert "(+" in text, "the pick lists or the stocktake fold to make room"


def test_a_taller_terminal_shows_every_panel_unfolded() -> None:
    rows = rows_of(ansi_frame(busy_board(), "rxedge demo", 0, 0.0, 100, 40))
    fits(rows, 100, 40)
    text = "\n".join(rows)
    assert "(+" not in text
    assert "rx-1000 (green, Ana)" in text and "rx-1001 (blue, Ben)" in text
    assert "stocktake st-A-20261206T101530, waits for confirmation: 2 of 3 seen, 1 missing" in text
    assert f"A-06 missing: {UNWATCHED.batch.product.name} serial 2" in text


def test_the_web_page_and_its_login_stay_whole_under_the_header_on_80_by_24() -> None:
    """However much activity scrolls by and however full the panels, the page's address and
    login keep their line at the top of an 80 x 24 screen."""
    page = "web page http://127.0.0.1:65535  user pharmacist  password wOgnOk9QV5on"
    board = busy_board()
    board.page = page
    rows = rows_of(ansi_frame(board, "rxedge demo: the fullest moment " * 3, 0, 0.0, 80, 24))
    fits(rows, 80, 24)
    assert rows[1] == "  " + page
    text = "\n".join(rows)
    for n in range(4):
        assert f"shortage raised: Drug {n}" in text, "the alarms stay whole all the same"
    assert sum("put away a pack" in row for row in rows) >= 3, "no room left for activity"
