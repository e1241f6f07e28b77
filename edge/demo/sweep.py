"""The stocktake: Ana counts shelf A with the handheld, as a pharmacist does.

She starts the sweep with `rxedge stocktake start A`, passes the handheld along the shelf slot
by slot (each slot's location tag, then the tagged packs lying there), and ends it with
`rxedge stocktake end`. One levothyroxine pack in A-06, where no antenna reaches, left the shelf
without being booked out: the report names it missing and the slot blinks blue (the shelf's
discrepancy alarm). Ana reads the report (`rxedge stocktake report`) and confirms it (`rxedge
stocktake confirm`): the pack is booked out and the alarm cleared.

The commands are the real command line, run as a person runs them, their output shown.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Sequence

from drivers.modbus.profile import Colour, Mode
from edge.daemon import ledger_questions as ask
from edge.demo.stage import PAUSE, Acts
from edge.demo.stock import (
    ANA,
    GONE_SERIAL,
    SHELF,
    SLOTS,
    TAGGED,
    UNWATCHED,
    location_tag,
)
from firmware_sim.chafon_sim import ChafonSimulator
from firmware_sim.r2000_sim import R2000Simulator
from inventory.codes.identifiers import EpcDecoder

DWELL = 0.15  # seconds the handheld rests over each slot
ROW = 8  # slots per row of the shelf


async def rxedge(scenario: Acts, *args: str, on_ledger: bool = False) -> list[str] | None:
    """Run `rxedge ARGS` against the demo's gateway (its broker, or with `on_ledger` its ledger
    file) as a person would, and show what it prints: its lines, or None when it failed,
    recorded as a failed check: with what it said last (a refusal is an error, not a matter of
    time), or as not answered before the demo's deadline."""
    s = scenario.s
    command = " ".join(("rxedge", *args[:2]))
    # Over a broker: a minute for the answer, as a broker cluster electing a leader may need.
    target = ("--db", str(s.db)) if on_ledger else (*s.target, "--wait", "60")
    scenario.s.view.say("command", "$ " + " ".join(("rxedge", *args, *target)))
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "edge.cli.main", *args, *target),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(
            process.communicate(), max(1.0, s.deadline - time.monotonic())
        )
    except TimeoutError:
        scenario.seen(f"{command} answered", False)
        return None
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    lines = out.decode().splitlines()
    said = lines + err.decode().splitlines()
    for line in said:
        scenario.s.view.say("rxedge", line)
    if process.returncode != 0:
        last = next((line.strip() for line in reversed(said) if line.strip()), "")
        scenario.seen(command, False, last or f"exit status {process.returncode}")
        return None
    return lines


def shelf_groups(reader: R2000Simulator) -> list[list[bytes]]:
    """What the handheld passes over, slot by slot: the slot's location tag, then the tags of
    the packs lying there (on the fixed reader's antennas, or in A-06 where none reaches)."""
    antennas = {t.slot: t.antenna for t in TAGGED}
    unwatched = UNWATCHED.batch
    groups: list[list[bytes]] = []
    for index in range(SLOTS):
        slot = f"{SHELF}-{index + 1:02d}"
        packs = reader.tags(antennas[slot]) if slot in antennas else []
        if slot == unwatched.slot:
            serials = range(1, unwatched.quantity + 1)
            packs = [UNWATCHED.epc(n) for n in serials if n != GONE_SERIAL]
        groups.append([location_tag(slot), *packs])
    return groups


async def count_shelf(scenario: Acts) -> bool:
    """Start, sweep, end, read the report, confirm it; True when every step was observed."""
    s = scenario.s
    handheld = s.handheld
    assert handheld is not None
    slot, gone = UNWATCHED.batch.slot, UNWATCHED.epc(GONE_SERIAL)
    s.view.step(f"{ANA} counts shelf A with the handheld (a stocktake)")
    if await rxedge(scenario, "stocktake", "start", SHELF, "--by", ANA) is None:
        return False
    if not await scenario.check(
        f"stocktake of shelf {SHELF} started at the gateway",
        lambda: bool(_answers(scenario, "stocktake-start", "started")),
    ):
        return False
    stocktake_id = str(_answers(scenario, "stocktake-start", "started")[-1]["stocktake_id"])
    await _sweep(scenario, handheld)
    if await rxedge(scenario, "stocktake", "end") is None:
        return False
    if not await scenario.check(
        f"the report finds the one pack gone from {slot} missing, and nothing else",
        lambda: _found(scenario, stocktake_id) == (1, 0, 0),
    ):
        return False
    if not await scenario.check(
        f"{slot} blinks blue (slow): the shelf's discrepancy alarm",
        lambda: _counting(scenario, slot),
    ):
        return False
    await s.view.snapshot("the stocktake's report waits for confirmation")
    report = await rxedge(scenario, "stocktake", "report", stocktake_id, on_ledger=True)
    missing = f"missing {UNWATCHED.batch.product.gtin}/{GONE_SERIAL}"
    if report is None or not scenario.seen(
        f"rxedge stocktake report names the missing pack ({missing})",
        any(missing in line for line in report),
        "not in the report it printed",
    ):
        return False
    await asyncio.sleep(PAUSE)
    if await rxedge(scenario, "stocktake", "confirm", stocktake_id, "--by", ANA) is None:
        return False
    if not await scenario.check(
        f"confirmed: 1 adjustment booked, {slot} no longer blinks blue",
        lambda: _confirmed(scenario, stocktake_id, slot),
    ):
        return False
    return await scenario.check(
        "the missing pack is off the ledger",
        lambda: _off_ledger(scenario, gone),
    )


async def _sweep(scenario: Acts, handheld: ChafonSimulator) -> None:
    groups = shelf_groups(scenario.s.reader)
    for start in range(0, len(groups), ROW):
        first, last = start + 1, min(start + ROW, len(groups))
        scenario.act(
            ANA, f"passes the handheld along {SHELF}-{first:02d}..{SHELF}-{last:02d}, slot by slot"
        )
        await handheld.sweep(groups[start : start + ROW], DWELL)


def _answers(scenario: Acts, command: str, status: str) -> Sequence[dict[str, object]]:
    return [
        a
        for a in scenario.s.centre.answers
        if a.get("command") == command and a.get("status") == status
    ]


def _found(scenario: Acts, stocktake_id: str) -> tuple[object, ...]:
    """(missing, unexpected, misplaced) in the `ended` answer about the stocktake."""
    for answer in _answers(scenario, "stocktake-end", "ended"):
        summary = answer.get("summary")
        if answer.get("stocktake_id") == stocktake_id and isinstance(summary, dict):
            return (summary["missing"], summary["unexpected"], summary["misplaced"])
    return ()


async def _counting(scenario: Acts, slot: str) -> bool:
    light = await scenario.light(slot)
    return light.on and light.colour is Colour.BLUE and light.mode is Mode.SLOW_BLINK


async def _confirmed(scenario: Acts, stocktake_id: str, slot: str) -> bool:
    confirmed = [
        a
        for a in _answers(scenario, "stocktake-confirm", "confirmed")
        if a.get("stocktake_id") == stocktake_id
    ]
    if not confirmed or confirmed[0].get("adjustments") != 1:
        return False
    return not await _counting(scenario, slot)


async def _off_ledger(scenario: Acts, epc: bytes) -> bool:
    pack = EpcDecoder().decode(epc)
    placed = await scenario.s.gateway.ledger.ask(ask.placed_epcs)
    return pack is not None and pack.epc not in placed
