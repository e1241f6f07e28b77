"""A request as the procurement clerk reads it: one line, saying first when the gateway sent it
again for want of an answer, and ending with the command that answers it at that gateway."""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from edge.service.journal import printable
from sync.procurement_feed import ReceivedRequest


def answer_command(request: ReceivedRequest, reach: Sequence[str] = ()) -> str:
    """`rxedge procurement status` for `request` at the gateway that sent it (STATE to fill
    in); `reach`, the options that find the broker (`--broker URL`), after it. Quoted for a
    POSIX shell: pasted there, it runs as shown whatever the site's and gateway's names."""
    topics = request.topics
    words = (*option_words("--site", topics.site), *option_words("--gateway", topics.gateway))
    return f"rxedge procurement status {request.request_id} STATE {shlex.join((*words, *reach))}"


def option_words(option: str, value: str) -> tuple[str, ...]:
    """`option value` as words of a command line, or one word `option=value` when the value
    starts with a dash (which the command's parser would take for an option)."""
    return (f"{option}={value}",) if value.startswith("-") else (option, value)


def repeat_note(
    request: ReceivedRequest, reach: Sequence[str] = (), taken_before: bool = False
) -> str | None:
    """What to tell the clerk of a copy its gateway sent again for want of an answer: the
    gateway has none. A copy not seen here before (a watch restarted without its seen ids,
    another member of a share group) may have been ordered already; one taken here before
    (`taken_before`) was not answered, or the answer went to another gateway or was lost.
    None for a request sent once."""
    times = request.sent_again
    if not times:
        return None
    said = (
        "taken here before; an answer sent may have gone to another gateway or been lost"
        if taken_before
        else "it may have been ordered already"
    )
    return (
        f"sent again ({times}): the gateway has no answer yet \u2014 {said}; answer it with "
        f"{answer_command(request, reach)}"
    )


def request_line(
    request: ReceivedRequest, reach: Sequence[str] | None = None, taken_before: bool = False
) -> str:
    """One readable line for a clerk (a copy sent again says so first, with the command that
    answers it); given `reach` (the watch's), any other ends with that command. Control
    characters a sender put in its text are shown escaped, never acted on by the terminal."""
    b = request.body
    reason = b.get("reason", {})
    repeat = repeat_note(request, reach or (), taken_before)
    answer = "" if reach is None or repeat else f"  answer: {answer_command(request, reach)}"
    return printable(
        ("" if repeat is None else f"{repeat}  ")
        + (
            f"{b['created_at']}  {b.get('site', '?')}/{b.get('gateway', '?')}  "
            f"{b['priority'].upper():7}  {b['quantity']} x {b['unit']}  {b['name']} "
            f"(GTIN {b['gtin']})  on hand {reason.get('on_hand')}, on order "
            f"{reason.get('on_order')}, reorder point {reason.get('reorder_point')}, "
            f"par {reason.get('par')}  [{b['request_id']}]"
        )
        + answer
    )
