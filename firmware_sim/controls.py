"""The commands each simulator takes on its control socket (firmware_sim.control): what an
integrator without hardware does by hand at a shelf: put packs in a reader's field and take
them away, press a slot's button, scan a code, make a device fail and come back.

Slots are numbered as on the shelf (1 = A-01), antennas 1-8, EPCs in hex.
"""

from __future__ import annotations

from firmware_sim.control import ControlError, Handler, epc_bytes, number, switch
from firmware_sim.r2000_sim import ANTENNAS, R2000Simulator
from firmware_sim.scanner_sim import ScannerSimulator
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator

Commands = dict[str, tuple[str, Handler]]


def reader_commands(sim: R2000Simulator) -> Commands:
    """tag add/remove/move, tags, antenna N fail, fail."""

    async def tag(args: list[str]) -> str:
        action = args[0].lower()
        if action == "add":
            sim.place(antenna(args[1]), epc_bytes(args[2]))
            return ""
        if action == "remove":
            if not sim.remove(epc_bytes(args[1])):
                raise ControlError(f"tag {args[1]} is on no antenna")
            return ""
        if action == "move":
            epc, to = epc_bytes(args[1]), antenna(args[2])
            if not sim.remove(epc):
                raise ControlError(f"tag {args[1]} is on no antenna; tag add {to} {args[1]}")
            sim.place(to, epc)
            return ""
        raise ValueError(action)

    async def tags(args: list[str]) -> str:
        wanted = [antenna(args[0])] if args else list(ANTENNAS)
        return " ".join(f"{a}:{epc.hex().upper()}" for a in wanted for epc in sim.tags(a))

    async def antenna_fault(args: list[str]) -> str:
        which = antenna(args[0])
        if args[1].lower() != "fail":
            raise ValueError(args[1])
        if switch(args[2]):
            sim.missing_antennas.add(which)
        else:
            sim.missing_antennas.discard(which)
        return ""

    async def fail(args: list[str]) -> str:
        sim.silent = switch(args[0])
        return ""

    return {
        "tag": ("tag add ANTENNA EPC | tag remove EPC | tag move EPC ANTENNA", tag),
        "tags": ("tags [ANTENNA]", tags),
        "antenna": ("antenna N fail on|off (error 0x22: antenna missing)", antenna_fault),
        "fail": ("fail on|off (the reader stops answering)", fail),
    }


def shelf_commands(sim: ShelfControllerSimulator) -> Commands:
    """press, light, fail."""

    def slot(word: str) -> int:
        return number(word, 1, sim.slots, "slot") - 1

    async def press(args: list[str]) -> str:
        times = number(args[1], 1, 1000, "times") if len(args) > 1 else 1
        await sim.press(slot(args[0]), times)
        return ""

    async def light(args: list[str]) -> str:
        shown = await sim.light(slot(args[0]))
        if not shown.on:
            return "off"
        return f"on {shown.colour.name.lower()} {shown.mode.name.lower()} {shown.number}"

    async def fail(args: list[str]) -> str:
        down = switch(args[0])
        if sim.rtu:
            (sim.silence if down else sim.unsilence)()
        elif down:
            await sim.stop()
        else:
            await sim.start()  # powered up afresh: lights dark until the host writes them
        return ""

    return {
        "press": ("press SLOT [TIMES] (slot 1 = A-01)", press),
        "light": ("light SLOT -> off | on COLOUR MODE NUMBER", light),
        "fail": ("fail on|off (the controller stops answering)", fail),
    }


def scanner_commands(sim: ScannerSimulator) -> Commands:
    """scan."""

    async def scan(args: list[str]) -> str:
        if len(args) != 1:
            raise ValueError(args)
        sim.scan(args[0].replace("<GS>", "\x1d"))
        return ""

    return {"scan": ("scan ELEMENT_STRING (<GS> for the GS separator)", scan)}


def antenna(word: str) -> int:
    return number(word, 1, len(ANTENNAS), "antenna")
