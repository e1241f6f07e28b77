"""`rxedge` whose `procurement watch --accept` holds each request HOLD seconds once its answer
`accepted` is sent (the broker has it), saying `answer sent REQUEST_ID` on stderr, and gives a
stopping watch FINISH seconds for the request in hand: a test stops the watch while a request
is answered and not yet written down. `python -m tests.edge.held_answers HOLD FINISH ARGS...`"""

from __future__ import annotations

import asyncio
import sys

from edge.cli.main import main
from edge.cli.procurement import watch
from sync.procurement_feed import ReceivedRequest


def hold_answers(hold: float, finish: float) -> None:
    send = watch.Accepter.accept

    async def held(accepter: watch.Accepter, request: ReceivedRequest) -> None:
        await send(accepter, request)
        print(f"answer sent {request.request_id}", file=sys.stderr, flush=True)
        await asyncio.sleep(hold)

    watch.Accepter.accept = held  # type: ignore[method-assign]
    watch.FINISH_SECONDS = finish


if __name__ == "__main__":
    hold_answers(float(sys.argv[1]), float(sys.argv[2]))
    sys.exit(main(sys.argv[3:]))
