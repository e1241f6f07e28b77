"""Find a drug: by GTIN (8-14 digits, in groups as printed or not), by a fragment of its
name, or by its scanned or pasted GS1 DataMatrix; where it lies in FEFO order (earliest expiry
first), and a button that lights those slots (`locate`)."""

from __future__ import annotations

import secrets
import sqlite3
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from edge.web.accounts import Account
from edge.web.pages import action, render, shared_live_part, state_of
from edge.web.reading import days_left
from inventory.codes.barcodes import BarcodeError, from_typed, parse_pack_barcode
from inventory.codes.identifiers import gtin_problem
from inventory.ledger.questions import stock_of

MAX_MATCHES = 20


def understand(query: str, names: dict[str, str]) -> tuple[list[str], str, str]:
    """(GTINs asked for, the batch a scanned code names, a problem in words) for a query."""
    text = query.strip()
    if not text:
        return [], "", ""
    digits = "".join(text.split()).replace("-", "")  # as printed on a pack: "4 012345 123456"
    if digits.isascii() and digits.isdigit() and 8 <= len(digits) <= 14:
        gtin = digits.zfill(14)
        problem = gtin_problem(gtin)
        return ([], "", problem) if problem else ([gtin], "", "")
    if (text.isascii() and text.isdigit()) or text.startswith("]") or _looks_like_a_code(text):
        try:
            scan = parse_pack_barcode(from_typed(text))
        except BarcodeError as exc:
            return [], "", str(exc)
        return [scan.gtin], scan.batch, ""
    fragment = text.casefold()
    found = [
        g for g, name in sorted(names.items(), key=lambda i: i[1]) if fragment in name.casefold()
    ]
    if not found:
        return [], "", f"no product's name holds {text!r}; try a GTIN or scan the pack"
    return found[:MAX_MATCHES], "", ""


def _looks_like_a_code(text: str) -> bool:
    """An element string as a scanner types it: starts with AI 01 and a GTIN, GS as <GS> or |."""
    return text.startswith("01") and len(text) > 16 and text[2:16].isdigit()


async def find(request: Request) -> Response:
    state = state_of(request)
    query = request.query_params.get("q", "")
    gtins, batch, problem = understand(query, state.names)
    today = state.today()
    answers: list[dict[str, Any]] = []
    for gtin in gtins:
        rows = await state.reader.ask(partial(_stock, gtin))
        for row in rows:
            row["days_left"] = days_left(row["expiry"], today)
            row["usable"] = row["status"] == "available" and (row["days_left"] or 0) >= 0
            row["scanned"] = bool(batch) and row["batch"] == batch
        answers.append(
            {
                "gtin": gtin,
                "name": state.names.get(gtin, "not in this gateway's product list"),
                "rows": rows,
                "on_hand": sum(r["quantity"] for r in rows if r["usable"]),
            }
        )
    return render(request, "find.html", query=query, answers=answers, problem=problem, batch=batch)


async def locate(request: Request, form: dict[str, str], account: Account) -> str:
    gtin = form.get("gtin", "")
    # An id of this click's own: the answer to it, not to someone else's locate just before.
    command_id = f"web-{gtin}-{secrets.token_hex(4)}"
    body = {"gtin": gtin, "command_id": command_id}
    answer = await state_of(request).command("locate", body, command_id)
    slots = answer.get("slots") or []
    where = ", ".join(f"{s['slot']} ({s['quantity']})" for s in slots) or "no slot holds it"
    return f"Lit for {answer.get('seconds')} s: {where}."


def _stock(gtin: str, db: sqlite3.Connection) -> list[dict[str, Any]]:
    return stock_of(db, gtin)


routes = [
    Route("/find", shared_live_part(find)),
    Route("/find/locate", action(locate), methods=["POST"]),
]
