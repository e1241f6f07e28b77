"""Shelves: each shelf drawn as its controller shows it (colour, blink, number, and the same in
words), with the products and packs on hand per slot; a slot's stock lines and history."""

from __future__ import annotations

import sqlite3
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from edge.web.pages import finish, refuse, render, shared_live_part, state_of
from edge.web.reading import days_left, shelf_stock, slot_lines
from inventory.ledger.questions import history

DARK = {"on": False, "colour": "off", "mode": "steady", "number": 0}
MODE_WORDS = {"steady": "steady", "slow_blink": "blinking slowly", "fast_blink": "blinking fast"}
HISTORY_ROWS = 30


def light_words(light: dict[str, Any]) -> str:
    """A slot's light for a person: "green, steady, take 2", "off"."""
    if not light.get("on"):
        return "off"
    words = f"{light['colour']}, {MODE_WORDS.get(light['mode'], light['mode'])}"
    return f"{words}, shows {light['number']}" if light.get("number") else words


async def index(request: Request) -> Response:
    return finish(request, RedirectResponse("/shelves", status_code=303))


async def shelves(request: Request) -> Response:
    state = state_of(request)
    homes: dict[str, list[str]] = {}
    for product in state.config.products:
        for slot in product.slots:
            homes.setdefault(slot, []).append(product.gtin)
    drawn = []
    for shelf in state.config.shelves:
        stock = await state.reader.ask(partial(_stock_of, shelf.name))
        message = state.live.state.lights.get(shelf.name, {})
        lights = {s["slot"]: s for s in message.get("slots", [])}
        slots = []
        for slot in shelf.slot_names():
            light = lights.get(slot, DARK)
            held = stock.get(slot, [])
            gtins = {row["gtin"] for row in held}
            empty_homes = [
                {"gtin": g, "available": 0, "held": 0}
                for g in homes.get(slot, [])
                if g not in gtins
            ]
            slots.append(
                {
                    "name": slot,
                    "light": light,
                    "words": light_words(light),
                    "stock": held + empty_homes,
                }
            )
        drawn.append({"name": shelf.name, "slots": slots, "known": bool(message)})
    return render(request, "shelves.html", shelves=drawn)


async def slot(request: Request) -> Response:
    state = state_of(request)
    name = request.path_params["slot"]
    if name not in state.slots:
        return refuse(request, 404, f"there is no slot {name!r} on this gateway's shelves")
    lines = await state.reader.ask(lambda db: slot_lines(db, name))
    moves = await state.reader.ask(lambda db: history(db, name, HISTORY_ROWS))
    shelf = name.rpartition("-")[0]
    message = state.live.state.lights.get(shelf, {})
    light = next((s for s in message.get("slots", []) if s["slot"] == name), DARK)
    today = state.today()
    for line in lines:
        line["days_left"] = days_left(line["expiry"], today)
    return render(
        request,
        "slot.html",
        slot=name,
        lines=lines,
        moves=moves,
        light=light,
        words=light_words(light),
    )


def _stock_of(shelf: str, db: sqlite3.Connection) -> dict[str, list[dict[str, Any]]]:
    return shelf_stock(db, shelf)


routes = [
    Route("/", index),
    Route("/shelves", shared_live_part(shelves, lights=True)),
    Route("/slots/{slot}", shared_live_part(slot, lights=True)),
]
