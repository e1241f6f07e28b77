"""Alarms: the live ones (raised or acknowledged) with what people need to act on each (the
product, where, which batch, why), acknowledging one by name, and taking an expired batch's
held packs off the shelf slot by slot (`edge.web.views.write_off`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Any

from epcpy.epc_schemes.sgtin import SGTIN
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from edge.web.accounts import Account
from edge.web.pages import action, render, shared_live_part, state_of
from edge.web.reading import held_packs, live_alarms
from inventory.alarms.lifecycle import batch_subject
from inventory.site_calendar import SiteCalendar


async def alarms(request: Request) -> Response:
    state = state_of(request)
    rows, more = await state.reader.ask(live_alarms)
    expired = [
        (str(a["detail"]["gtin"]), str(a["detail"]["batch"]))
        for a in rows
        if a["kind"] == "expired" and "gtin" in a["detail"] and "batch" in a["detail"]
    ]
    held = await state.reader.ask(partial(held_packs, expired)) if expired else {}
    for row in rows:
        row["about"], row["said"] = described(row, state.names, state.calendar)
        row["held"] = held.get(batch_subject(*_batch_of(row["detail"])), [])
    return render(request, "alarms.html", alarms=rows, more=more)


def described(
    alarm: Mapping[str, Any], names: Mapping[str, str], calendar: SiteCalendar
) -> tuple[str, list[str]]:
    """What an alarm is about (a product's name, a device, else its subject) and the details
    people need to act on it, each a short line: where (slots, a slot, an antenna), which
    batch and expiry, how many, a request the centre refused, why (its reason), the pack's
    EPC; times on the site's clock."""
    detail: Mapping[str, Any] = alarm["detail"]
    gtin = str(detail.get("gtin") or _gtin_of(detail.get("epc")) or "")
    about = str(detail.get("name") or names.get(gtin) or detail.get("device") or alarm["subject"])
    said: list[str] = []
    if isinstance(detail.get("slots"), list) and detail["slots"]:
        said.append("slots " + ", ".join(str(s) for s in detail["slots"]))
    if detail.get("slot"):
        said.append(f"slot {detail['slot']}")
    if detail.get("antenna") is not None:
        said.append(f"antenna {detail['antenna']}")
    if detail.get("batch") is not None and "gtin" in detail:
        batch = f"batch {detail['batch'] or '-'}"
        said.append(batch + (f", expiry {detail['expiry']}" if detail.get("expiry") else ""))
    if detail.get("serial"):
        said.append(f"serial {detail['serial']}")
    if "quantity" in detail:
        said.append(f"{detail['quantity']} pack(s)")
    if "days_left" in detail:
        said.append(f"{detail['days_left']} day(s) left as of {detail.get('as_of', '')}".strip())
    if "on_hand" in detail:
        said.append(f"{detail['on_hand']} on hand when raised")
    if detail.get("refused_request"):
        said.append(_refusal(detail))
    if "waiting" in detail:
        said.append(f"{detail['waiting']} waiting, the oldest {detail['oldest_seconds']} s")
    if "newest_stamp" in detail:
        clock, newest = (_site_time(calendar, detail.get(k)) for k in ("clock", "newest_stamp"))
        said.append(f"the clock read {clock}, the ledger's newest is {newest}")
    why = detail.get("why") or detail.get("reason")
    if why and alarm["kind"] == "unexpected_removal":
        why = f"taken at the shelf by mistake ({why}) and not put back"
    if why:
        said.append(str(why))
    if detail.get("epc"):
        said.append(str(detail["epc"]))
    return about, said


def _refusal(detail: Mapping[str, Any]) -> str:
    """What the centre's refusal of a request left: a proposal waiting for a pharmacist, the
    request that proposal became once confirmed, or that proposal withdrawn unconfirmed."""
    said = (
        f"the centre {detail.get('refused_status', 'refused')} request {detail['refused_request']}"
    )
    if detail.get("requested_again"):
        return f"{said}; asked again as {detail['requested_again']}"
    if detail.get("proposal_id"):
        return f"{said}; proposal {detail['proposal_id']} waits for a pharmacist to confirm it"
    if detail.get("proposal_withdrawn"):
        withdrawn = detail["proposal_withdrawn"]
        return f"{said}; proposal {withdrawn} withdrawn: stock rose, nothing more is needed"
    return said


def _site_time(calendar: SiteCalendar, stamp: object) -> str:
    """A stamp of an alarm's detail (UTC, as the ledger keeps it) on the site's clock with its
    offset, to the second (a clock behind by seconds reads so); as written when it is no
    time with a zone."""
    try:
        moment = datetime.fromisoformat(str(stamp).upper())
    except ValueError:
        return str(stamp)
    if moment.tzinfo is None:
        return str(stamp)
    local = moment.astimezone(calendar.zone).strftime("%Y-%m-%d %H:%M:%S ")
    return local + calendar.offset(moment)


def _gtin_of(epc: object) -> str | None:
    """The GTIN of a pack's EPC URI (urn:epc:id:sgtin:...), None for anything else."""
    if not isinstance(epc, str):
        return None
    try:
        return str(SGTIN(epc).gtin())
    except Exception:  # epcpy says so with exceptions of its own, of many kinds
        return None


def _batch_of(detail: Mapping[str, Any]) -> tuple[str, str]:
    return str(detail.get("gtin", "")), str(detail.get("batch", ""))


async def acknowledge(request: Request, form: dict[str, str], account: Account) -> str:
    """Said as the ledger has it: an alarm someone acknowledged first (a screen not redrawn
    yet) keeps their name, and the person is told so."""
    alarm_id = request.path_params["alarm_id"]
    body = {"alarm_id": alarm_id, "by": account.name}
    answer = await state_of(request).command("alarm-ack", body, alarm_id, form.get("form_id"))
    by = answer.get("by") or account.name
    if by != account.name:
        return f"Alarm {alarm_id} was already acknowledged by {by}; nothing changed."
    return f"Alarm {alarm_id} acknowledged by {by}."


routes = [
    Route("/alarms", shared_live_part(alarms)),
    Route("/alarms/{alarm_id:path}/ack", action(acknowledge), methods=["POST"]),
]
