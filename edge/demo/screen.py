"""Drawing the demo: shelf A's slots as the controller shows them, and the panels beside it
(open pick lists, live alarms, requests received by the centre, recent activity).

Two forms: ANSI for a terminal (each cell in its LED colour, blinking as the controller blinks)
and plain text for logs and pipes (a letter per colour, a mark per blink mode).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from drivers.modbus.lights import SlotLight
from drivers.modbus.profile import Colour, Mode
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
MARKS = "  ~ slow blink   !! fast blink   number: packs to take"
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
    activity: Sequence[str] = field(default_factory=list)


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
    """The shelf in colour: two text lines per cell (slot and number; label and blink mark)."""
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
        lines += ["  " + " ".join(top), "  " + " ".join(bottom), ""]
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


def list_lines(board: Board) -> list[str]:
    """Open pick lists with each line's progress and where its packs are."""
    if not board.lists:
        return ["pick lists: none open"]
    lines = ["pick lists (open)"]
    for pick in board.lists:
        picked = sum(line.picked for line in pick.lines)
        allocated = sum(line.allocated for line in pick.lines)
        colour = board.colours[pick.picker_no % len(board.colours)]
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
            name = board.names.get(line.gtin, f"GTIN {line.gtin}")
            lines.append(f"    {line.picked}/{line.quantity} {name}: {places}{short}")
    return lines


def alarm_lines(board: Board) -> list[str]:
    if not board.alarms:
        return ["alarms: none live"]
    lines = ["alarms (live)"]
    for alarm in board.alarms:
        detail = alarm.detail
        text = f"  {alarm.kind} {alarm.state}: {detail.get('name', alarm.subject)}"
        if "on_hand" in detail:
            text += f", on hand {detail['on_hand']}"
        if "reorder_point" in detail:
            text += f" (reorder point {detail['reorder_point']})"
        if detail.get("slots"):
            text += f" at {', '.join(detail['slots'])}"
        lines.append(text)
    return lines


def request_lines(board: Board) -> list[str]:
    if not board.requests:
        return ["procurement requests received by the centre: none yet"]
    lines = ["procurement requests received by the centre"]
    for request in board.requests:
        b = request.body
        reason = b.get("reason", {})
        lines.append(
            f"  {str(b['priority']).upper()}  {b['quantity']} x {b['unit']}  {b['name']}  "
            f"(on hand {reason.get('on_hand')}, on order {reason.get('on_order')}, "
            f"reorder point {reason.get('reorder_point')}, par {reason.get('par')})"
        )
    return lines


def panels(board: Board) -> list[str]:
    """The text beside the grid: pick lists, alarms, requests."""
    return [*list_lines(board), "", *alarm_lines(board), "", *request_lines(board)]


def ansi_frame(board: Board, header: str, frame: int, now: float, width: int, height: int) -> str:
    """A whole screen: cursor home, every line cleared to its end, the rest of the screen
    cleared, so that nothing flickers and nothing stale stays. The shelf's rows (73 columns)
    and legend fit an 80-column terminal; the other lines are cut to `width`."""
    legend = (
        f"  \x1b[{STYLE[Colour.GREEN]}m picker 1 {RESET} \x1b[{STYLE[Colour.BLUE]}m picker 2 "
        f"{RESET} \x1b[{STYLE[Colour.RED]}m mistake {RESET} \x1b[{STYLE[Colour.AMBER]}m "
        f"shortage {RESET}"
    )
    head = [
        _fit(header, width),
        "  shelf A, as its controller's registers show it",
        "",
    ]
    body = [*ansi_grid(board, frame, now), legend, MARKS, ""]
    body += [_fit(line, width) for line in panels(board)]
    room = max(3, height - len(head) - len(body) - 3)
    recent = [_fit("  " + line, width) for line in board.activity[-min(room, 10) :]]
    lines = [*head, *body, "", "activity", *recent]
    return "\x1b[H" + "".join(f"{line}\x1b[K\n" for line in lines[: height - 1]) + "\x1b[J"


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(1, width - 1)] + "…"
