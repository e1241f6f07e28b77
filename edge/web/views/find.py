"""Find a drug: by GTIN (8, 12, 13 or 14 digits, in groups as printed or not), by a fragment of its
name, or by its scanned or pasted GS1 code (a DataMatrix's element string, the human-readable
form "(01)...(10)...", a GS1 Digital Link); where it lies: the usable packs in FEFO order
(earliest expiry first), then the held ones (not available, expired, of a recalled batch),
marked not to be taken; and a button that lights the slots of the usable ones (`locate`)."""

from __future__ import annotations

import re
import secrets
import sqlite3
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from edge.web.accounts import Account
from edge.web.pages import action, render, shared_live_part, state_of
from edge.web.reading import days_left
from inventory.codes.barcodes import BarcodeError, from_typed, parse_pack_barcode
from inventory.codes.digital_link import is_web_address
from inventory.codes.gtin import normalize_gtin
from inventory.ledger.questions import stock_of

MAX_MATCHES = 20
GTIN_DIGITS = range(8, 15)  # read as a GTIN; a length no GTIN has (9-11) is named as such
_HUMAN_READABLE = re.compile(r"\(\s*\d{2,4}\s*\)")  # "(01)", "( 01 )": an AI in brackets


@dataclass(frozen=True, slots=True)
class Understood:
    """What a query asks for: GTINs (at most MAX_MATCHES), the batch a scanned code names,
    how many products' names matched (beyond those shown), a problem in words."""

    gtins: list[str] = field(default_factory=list)
    batch: str = ""
    matched: int = 0
    problem: str = ""


def understand(query: str, names: dict[str, str]) -> Understood:
    """A query as a GTIN (8, 12, 13 or 14 digits with a right check digit, in groups as
    printed or not), a scanned or pasted GS1 code, or a fragment of products' names. Digits
    that cannot be a code ("500" of "Amoxicillin 500 mg") are looked for in the names; a code
    that is wrong is named, unless names hold what was typed."""
    text = query.strip()
    if not text:
        return Understood()
    digits = "".join(text.split()).replace("-", "")  # as printed on a pack: "4 012345 123456"
    problem = ""
    if digits.isascii() and digits.isdigit() and len(digits) in GTIN_DIGITS:
        try:
            return Understood([normalize_gtin(digits)])
        except ValueError as exc:
            problem = str(exc)
    elif _looks_like_a_code(text):
        try:
            scan = parse_pack_barcode(from_typed(text))
        except BarcodeError as exc:
            problem = str(exc)
        else:
            return Understood([scan.gtin], scan.batch)
    fragment = text.casefold()
    found = [
        g for g, name in sorted(names.items(), key=lambda i: i[1]) if fragment in name.casefold()
    ]
    if found:
        return Understood(found[:MAX_MATCHES], matched=len(found))
    return Understood(
        problem=problem or f"no product's name holds {text!r}; try a GTIN or scan the pack"
    )


def _looks_like_a_code(text: str) -> bool:
    """An element string as a scanner types it: with its symbology identifier (]d2), digits
    only and longer than a GTIN, or AI 01 and a GTIN then more (GS typed as <GS> or |); the
    human-readable form as printed under the code ("(01)..."); a web address (a GS1 Digital
    Link, or a code that is none, to be named as such)."""
    if text.startswith("]") or (text.isascii() and text.isdigit() and len(text) > 14):
        return True
    if _HUMAN_READABLE.match(text) or is_web_address(text):
        return True
    return text.startswith("01") and len(text) > 16 and text[2:16].isdigit()


async def find(request: Request) -> Response:
    state = state_of(request)
    query = request.query_params.get("q", "")
    understood = understand(query, state.names)
    gtins, batch = understood.gtins, understood.batch
    today = state.today()
    answers: list[dict[str, Any]] = []
    for gtin in gtins:
        rows, recalled = await state.reader.ask(partial(_stock, gtin))
        for row in rows:
            row["days_left"] = days_left(row["expiry"], today)
            row["held"] = _held(row, recalled)
            row["usable"] = not row["held"]
            row["scanned"] = bool(batch) and row["batch"] == batch
        rows.sort(key=lambda r: not r["usable"])  # the held after the usable, each FEFO
        answers.append(
            {
                "gtin": gtin,
                "name": state.names.get(gtin, "not in this gateway's product list"),
                "rows": rows,
                "on_hand": sum(r["quantity"] for r in rows if r["usable"]),
            }
        )
    return render(
        request,
        "find.html",
        query=query,
        answers=answers,
        problem=understood.problem,
        matched=understood.matched,
        batch=batch,
    )


async def locate(request: Request, form: dict[str, str], account: Account) -> str:
    gtin = form.get("gtin", "")
    # An id of this click's own: the answer to it, not to someone else's locate just before.
    command_id = f"web-{gtin}-{secrets.token_hex(4)}"
    body = {"gtin": gtin, "command_id": command_id}
    answer = await state_of(request).command("locate", body, command_id, form.get("form_id"))
    slots = answer.get("slots") or []
    where = ", ".join(f"{s['slot']} ({s['quantity']})" for s in slots)
    if not where:
        return f"No usable pack of GTIN {gtin} on the shelves: nothing lit."
    return f"Lit for {answer.get('seconds')} s, the usable packs only: {where}."


def _held(row: dict[str, Any], recalled: set[str]) -> str:
    """Why a stock line must not be taken, in words (as the gateway judges it: not available,
    expired on the site's calendar, of a recalled batch); empty when it is usable."""
    why = [] if row["status"] == "available" else [str(row["status"])]
    if (row["days_left"] or 0) < 0:
        why.append("expired")
    if row["batch"] in recalled:
        why.append("recalled")
    return ", ".join(why)


def _stock(gtin: str, db: sqlite3.Connection) -> tuple[list[dict[str, Any]], set[str]]:
    recalled = db.execute("SELECT batch FROM recalls WHERE gtin = ?", (gtin,))
    return stock_of(db, gtin), {str(batch) for (batch,) in recalled}


routes = [
    Route("/find", shared_live_part(find)),
    Route("/find/locate", action(locate), methods=["POST"]),
]
