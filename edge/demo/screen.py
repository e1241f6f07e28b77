"""Drawing the demo: shelf A's slots as the controller shows them, and the panels beside it
(open pick lists, the stocktake, live alarms, the requests sent to the centre and where they
stand, recent activity).

Two forms: ANSI for a terminal (each cell in its LED colour, blinking as the controller blinks),
fitted to the terminal down to 80 x 24, and plain text for logs and pipes (a letter per colour,
a mark per blink mode, every detail).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from drivers.modbus.lights import SlotLight
from drivers.modbus.profile import Colour, Mode
from edge.cli.procurement.commands import ANSWER_STATES
from edge.demo.ledger_file import Count, RequestState
from inventory.alarms.lifecycle import Alarm
from inventory.picking.lists import PickList
from sync.procurement_feed import ReceivedRequest

ROW_LENGTH = 8

RESET = "\x1b[0m"
# 256-colour backgrounds with a readable foreground; DARK is an unlit LED.
STYLE = {
    Colour.GREEN: "48;5;34;38;5;16",
    Colour.RED: "48;5;196;38;5;231",
    Colour.AMBER: "48;5;214;38;5;16",
    Colour.BLUE: "48;5;27;38;5;231",
    Colour.WHITE: "48;5;255;38;5;16",
}
DARK = "48;5;236;38;5;245"
MARK = {Mode.STEADY: "", Mode.SLOW_BLINK: "~", Mode.FAST_BLINK: "!!"}
LETTER = {
    Colour.GREEN: "G",
    Colour.RED: "R",
    Colour.AMBER: "A",
    Colour.BLUE: "B",
    Colour.WHITE: "W",
}
LEGEND = (
    "  G green  B blue  R red  A amber  W white  . dark",
    "  ~ slow blink (1 Hz)  !! fast blink (4 Hz)  number: what the slot's display shows",
)


@dataclass(slots=True)
class Board:
    """Everything one picture of the demo shows."""

    lights: Sequence[SlotLight]
    labels: Mapping[str, str]  # slot -> short name of what it holds
    names: Mapping[str, str]  # GTIN -> product name
    colours: Sequence[str]  # picker number -> colour name
    lists: Sequence[PickList] = ()
    alarms: Sequence[Alarm] = ()
    requests: Sequence[ReceivedRequest] = ()
    states: Mapping[str, RequestState] = field(default_factory=dict)  # request id -> state
    count: Count | None = None  # the stocktake running or reconciled last
    activity: Sequence[str] = field(default_factory=list)
    page: str = ""  # the web page's address and login ("" without one), always on screen


def slot_of(index: int) -> str:
    return f"A-{index + 1:02d}"


def lit_now(light: SlotLight, frame: int, now: float) -> bool:
    """Whether the LED is in its lit phase: slow blink 1 Hz from the clock; fast blink (4 Hz)
    alternates every frame, the closest a redraw four times a second comes to it."""
    if not light.on:
        return False
    if light.mode is Mode.SLOW_BLINK:
        return now % 1.0 < 0.5
    if light.mode is Mode.FAST_BLINK:
        return frame % 2 == 0
    return True


def ansi_grid(board: Board, frame: int, now: float) -> list[str]:
    """The shelf in colour: two text lines per cell (slot and number; label and blink mark),
    the rows of the shelf one under the other."""
    lines: list[str] = []
    for start in range(0, len(board.lights), ROW_LENGTH):
        top: list[str] = []
        bottom: list[str] = []
        for index in range(start, min(start + ROW_LENGTH, len(board.lights))):
            light, slot = board.lights[index], slot_of(index)
            style = STYLE.get(light.colour, DARK) if lit_now(light, frame, now) else DARK
            number = str(light.number) if light.number else ""
            mark = MARK[light.mode] if light.on else ""
            label = board.labels.get(slot, "")
            top.append(f"\x1b[{style}m {slot} {number:>2}{RESET}")
            bottom.append(f"\x1b[{style}m {label:<5.5}{mark:>2}{RESET}")
        lines += ["  " + " ".join(top), "  " + " ".join(bottom)]
    return lines


def plain_cell(light: SlotLight) -> str:
    """One slot in letters: "G2" green showing 2, "R!!" red fast blink, "." dark."""
    if not light.on:
        return "." + (str(light.number) if light.number else "")
    text = LETTER.get(light.colour, "?") + MARK[light.mode]
    return text + (str(light.number) if light.number else "")


def plain_grid(board: Board) -> list[str]:
    """The shelf as text: per row, the slots with their light, and what each slot holds."""
    lines: list[str] = []
    for start in range(0, len(board.lights), ROW_LENGTH):
        indexes = range(start, min(start + ROW_LENGTH, len(board.lights)))
        cells = [f"{slot_of(i)} {plain_cell(board.lights[i]):<4}" for i in indexes]
        labels = [f"{board.labels.get(slot_of(i), ''):<9}" for i in indexes]
        lines += ["  " + " ".join(cells).rstrip(), "  " + " ".join(labels).rstrip()]
    return [*lines, *LEGEND]


def list_lines(board: Board, detail: bool = True) -> list[str]:
    """Open pick lists with each line's progress and (with `detail`) where its packs are; without
    it, one line a list."""
    if not board.lists:
        return ["pick lists: none open"]
    lines = ["pick lists (open)"]
    for pick in board.lists:
        picked = sum(line.picked for line in pick.lines)
        allocated = sum(line.allocated for line in pick.lines)
        colour = board.colours[pick.picker_no % len(board.colours)]
        if not detail:
            wanted = "; ".join(
                f"{_name(board, line.gtin).split()[0]} {line.picked}/{line.quantity} at "
                + ", ".join(a.slot for a in line.allocations)
                + (f" SHORT {line.short}" if line.short else "")
                for line in pick.lines
            )
            lines.append(
                f"  {pick.pick_id} ({colour}, {pick.picker or '-'}) {picked}/{allocated}: {wanted}"
            )
            continue
        lines.append(
            f"  {pick.pick_id}  picker {pick.picker_no + 1} ({colour})  {pick.picker or '-'}  "
            f"{picked}/{allocated} picked"
        )
        for line in pick.lines:
            places = " | ".join(
                f"{a.slot} {a.picked}/{a.quantity}"
                + (f" batch {a.batch} exp {a.expiry}" if a.batch else " tagged")
                for a in line.allocations
            )
            short = f"  SHORT {line.short}" if line.short else ""
            lines.append(
                f"    {line.picked}/{line.quantity} {_name(board, line.gtin)}: {places}{short}"
            )
    return lines


def count_lines(board: Board, detail: bool = True) -> list[str]:
    """The stocktake running, or the one reconciled last: its counts, where it stands, and each
    difference it found (nothing before the first stocktake)."""
    count = board.count
    if count is None:
        return []
    if count.report is None:
        return [
            f"stocktake {count.stocktake_id} of shelf {count.shelf}: sweeping, "
            f"{count.packs_read} tagged packs read"
        ]
    s = count.report.summary()
    standing = {
        "ended": "waits for confirmation",
        "confirmed": f"confirmed by {count.confirmed_by}",
    }.get(count.state, count.state)
    if detail:
        lines = [
            f"stocktake {count.stocktake_id} of shelf {count.shelf}: {standing}",
            f"  {s['seen']} of {s['expected']} tagged packs seen, {s['missing']} missing, "
            f"{s['unexpected']} unexpected, {s['misplaced']} misplaced",
        ]
    else:
        found = [f"{s[k]} {k}" for k in ("missing", "unexpected", "misplaced") if s[k]]
        counts = ", ".join([f"{s['seen']} of {s['expected']} seen", *found])
        lines = [f"stocktake {count.stocktake_id}, {standing}: {counts}"]
    for slot in count.report.slots:
        for f in slot.missing:
            lines.append(f"  {slot.slot} missing: {_name(board, f.gtin)} serial {f.serial}")
        for f in slot.unexpected:
            lines.append(
                f"  {slot.slot} not on the ledger: {_name(board, f.gtin)} serial {f.serial}"
            )
        for f in slot.misplaced_in:
            lines.append(
                f"  {slot.slot} holds {_name(board, f.gtin)} serial {f.serial}, "
                f"booked in {f.ledger_slot}"
            )
    return lines


def alarm_lines(board: Board) -> list[str]:
    if not board.alarms:
        return ["alarms: none live"]
    lines = ["alarms (live)"]
    for alarm in board.alarms:
        detail = alarm.detail
        what = detail.get("name") or (
            f"shelf {detail['shelf']}" if "shelf" in detail else alarm.subject
        )
        text = f"  {alarm.kind} {alarm.state}: {what}"
        if detail.get("slots"):  # where to look first; the figures may be cut on a narrow screen
            text += f" at {', '.join(detail['slots'])}"
        if "on_hand" in detail:
            text += f", on hand {detail['on_hand']}"
        if "reorder_point" in detail:
            text += f" (reorder point {detail['reorder_point']})"
        lines.append(text)
    return lines


def request_lines(board: Board, detail: bool = True) -> list[str]:
    """The requests the centre received, each with its state at the gateway (the centre's
    answers move it on) and the centre's last note."""
    if not board.requests:
        return ["procurement requests: none yet"]
    lines = ["procurement requests (received by the centre; its answers move them on)"]
    for request in board.requests:
        b, state = request.body, board.states.get(request.request_id)
        status = state.status if state else "requested"
        text = f"  {status:<9} {b['quantity']} x {b['name']}"
        if state and state.received:
            text += f", {state.received} received"
        if state and state.note and status in ANSWER_STATES:
            text += f" ({state.note})"
        if detail:
            reason = b.get("reason", {})
            text += (
                f"  {str(b['priority']).upper()}: on hand {reason.get('on_hand')}, on order "
                f"{reason.get('on_order')}, reorder point {reason.get('reorder_point')}, "
                f"par {reason.get('par')}"
            )
        lines.append(text)
    return lines


def panels(board: Board, detail: bool = True) -> list[str]:
    """The text beside the grid: pick lists, the stocktake, alarms, requests."""
    sections = [list_lines(board, detail), count_lines(board, detail)]
    sections += [alarm_lines(board), request_lines(board, detail)]
    lines: list[str] = []
    for section in sections:
        if section:  # an empty line between the sections shown
            lines += [*([""] if lines else []), *section]
    return lines


def ansi_frame(board: Board, header: str, frame: int, now: float, width: int, height: int) -> str:
    """A whole screen: cursor home, every line cleared to its end, the rest of the screen
    cleared, so that nothing flickers and nothing stale stays. Nothing is taller than the
    screen (its last line stays empty: writing there would scroll) or wider: the shelf's rows
    (73 columns), the legend and the web page's line fit 80 columns, the other lines are cut to
    `width`, and on a short screen the panels fold (the pick lists first, the alarms last) to
    leave a few lines of activity. The web page's address and login stay under the header,
    never scrolled away with the activity."""
    legend = (
        f"  \x1b[{STYLE[Colour.GREEN]}m picker 1 {RESET} \x1b[{STYLE[Colour.BLUE]}m picker 2 "
        f"{RESET} \x1b[{STYLE[Colour.RED]}m mistake {RESET} \x1b[{STYLE[Colour.AMBER]}m "
        f"shortage {RESET}  ~ slow  !! fast  n: to take"
    )
    page = [f"\x1b[1m{_fit('  ' + board.page, width)}{RESET}"] if board.page else []
    top = [_fit(header, width), *page, *ansi_grid(board, frame, now), legend]
    room = height - 1 - len(top)
    sections = [list_lines(board, False), count_lines(board, False)]
    sections += [alarm_lines(board), request_lines(board, False)]
    text = [_fit(line, width) for line in _fold(sections, room - MIN_ACTIVITY)]
    left = max(1, room - len(text))
    titled = left > MIN_ACTIVITY
    shown = min(left - titled, 10)
    recent = [_fit("  " + line, width) for line in board.activity[len(board.activity) - shown :]]
    lines = [*top, *text, *(["activity"] if titled else []), *recent]
    return "\x1b[H" + "".join(f"{line}\x1b[K\n" for line in lines[: height - 1]) + "\x1b[J"


MIN_ACTIVITY = 3  # lines of activity a short screen keeps


def _fold(sections: list[list[str]], budget: int) -> list[str]:
    """The sections (pick lists, stocktake, alarms, requests) in at most `budget` lines. One too
    long keeps its first line and as many more as fit, then how many it hides; at the least its
    first line alone, saying so. The pick lists give way first, then the stocktake (whose first
    line has its counts), the requests, and the alarms last."""
    kept = [list(s) for s in sections]
    for index in (0, 1, 3, 2):
        section = kept[index]
        over = sum(map(len, kept)) - budget
        if over <= 0 or len(section) < 2:
            continue
        keep = len(section) - over - 1  # lines kept besides the one saying what is hidden
        if keep >= 1:
            section[keep:] = [f"  (+{len(section) - keep} more)"]
        else:
            section[:] = [f"{section[0]} (+{len(section) - 1} more)"]
    return [line for s in kept for line in s]


def _name(board: Board, gtin: str) -> str:
    return board.names.get(gtin, f"GTIN {gtin}")


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(1, width - 1)] + "…"
