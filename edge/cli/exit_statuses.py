"""What each command's exit status means, shown at the end of its `--help`.

One table for every command, so a script's author finds the answer where they look first, and
a command added without its entry fails at once (`describe_exit_statuses` refuses it).
"""

from __future__ import annotations

import argparse
import textwrap

HELP_WIDTH = 80  # columns: a terminal's default, and a window's narrowest
USAGE = "2 a usage error (the message says which)"
# sysexits' EX_TEMPFAIL: the unit restarts on it, as it does not on 2.
NOT_NOW = 75
LEDGER = "2 the ledger or configuration cannot be read, or a usage error (the message says which)"
SENT = (
    "1 the gateway answered with a failure (refused, cancelled, timed out)",
    "2 not sent: the command or an option is wrong",
    "3 no answer from the gateway, or the broker refused the command",
)
GROUP = ("2 no COMMAND given (this help is printed), or a usage error",)
SIMULATED = (
    "1 the device could not start (the message, or the traceback, says why)",
    "129 its terminal was closed (SIGHUP)",
    "130 stopped with Ctrl-C",
    "143 stopped with SIGTERM",
)

EXIT_STATUSES: dict[str, tuple[str, ...]] = {
    "": (
        "0 done",
        "2 a usage or configuration error (the message says which)",
        "130 interrupted (Ctrl-C)",
        "141 what read its output went away (a pipe closed early, as by `| head`): the rest "
        "of the output is dropped",
        "each command's --help lists its own",
    ),
    "run": (
        "0 stopped by SIGTERM or SIGINT after a clean shutdown",
        "1 an unexpected failure (the traceback is logged)",
        "2 the configuration or the ledger cannot be used, or a usage error (the message says "
        "what to do)",
        f"{NOT_NOW} the ledger cannot be opened now: its file system is full, or another program "
        "holds it locked (the message says what to do; a service is started again by itself)",
    ),
    "check-config": (
        "0 the configuration is valid (lines starting 'warning:' name what this machine lacks)",
        "2 it is not (every problem is listed), or a usage error",
    ),
    "status": (
        "0 all is well",
        "1 something needs attention (listed)",
        "2 the daemon cannot be reached, its metrics are off, or a usage error",
    ),
    "demo": (
        "0 every step of the scenario was observed",
        "1 a step was not observed in time, or a command a step ran failed (the summary says"
        " which, and why)",
        "2 a wrong option (--db names a file that exists, --web a port in use), or the broker"
        " given with --broker refused it (the message names the option to use)",
        "129 its terminal was closed (SIGHUP) or what read its output went away, 130 stopped"
        " with Ctrl-C, 143 with SIGTERM (each, even during its start-up, after its summary;"
        " its broker, web page and temporary files gone)",
    ),
    "pick": ("0 the list is done (with --cancel: cancelled; with --no-wait: sent)", *SENT),
    "locate": ("0 located (its usable packs lit, or none usable: nothing lit)", *SENT),
    "stocktake": GROUP,
    "stocktake start": ("0 the sweep started", *SENT),
    "stocktake end": (
        "0 the sweep ended and was reconciled",
        "1 the gateway refused it, or abandoned the sweep with nothing to judge (the reason is "
        "printed; sweep the shelf again)",
        *SENT[1:],
    ),
    "stocktake confirm": ("0 the differences were booked", *SENT),
    "stocktake report": ("0 the report was printed", "1 no such stocktake (or none yet)", LEDGER),
    "alarms": ("0 the alarms were printed (none is fine)", LEDGER),
    "alarms ack": ("0 acknowledged", *SENT),
    "write-off": ("0 written off", *SENT),
    "procurement": GROUP,
    "procurement list": ("0 the requests were printed (none is fine)", LEDGER),
    "procurement confirm": ("0 confirmed and sent to the centre", *SENT),
    "procurement watch": (
        "0 ended after --count requests, or --seconds ran out (without --count)",
        "1 --seconds ran out first, or a request could not be written down (or answered, with"
        " --accept: it stays with the session)",
        "2 a wrong option (--site or --gateway in the default share group, or other than"
        " the --durable group takes, or a --by the contract does not take, with --accept), or "
        "the broker settings cannot be used",
        "3 another client took the watch's session over (the same --client-id): stopped, so "
        "that two watches do not write down the same requests",
        "130 stopped with Ctrl-C",
        "143 stopped with SIGTERM",
    ),
    "procurement status": (
        "0 the gateway took it: applied (also to a request its delivery closed first), or "
        "duplicate (the request had that status already)",
        "1 the gateway refused it (the reason is printed)",
        "2 not sent: the answer breaks the contract, or an option is wrong",
        "3 the broker refused it, or could not be reached",
        "4 sent, but not yet confirmed: the gateway did not answer within --wait seconds (the "
        "broker keeps the answer for it; send it again later to see the gateway's word)",
        "5 not delivered: the broker says no client subscribes to that gateway's answers (MQTT 5;"
        " a wrong --site or --gateway, a retired gateway, or one whose session expired), so "
        "nobody will get it",
    ),
    "ledger": GROUP,
    "ledger verify": (
        "0 ok: the ledger is untouched",
        "1 damaged: SQLite's integrity check fails, the chain or the stock does not hold, or "
        "the file is no ledger (empty, cut short, not SQLite); the first problem is named",
        "2 it cannot be checked, which says nothing of its content (the message says why and "
        "what to do): no file there; another program holds it locked; it cannot be opened or "
        "read here (this user may not read a file of it, or a -wal beside it holds changes "
        "that need an -shm this user cannot create); it changed during the check (run it "
        "again); the configuration cannot be read; or a usage error",
    ),
    "ledger export": ("0 the table was written", LEDGER),
    "ledger move-slot": (
        "0 the slot's packs were booked into the other",
        "1 the slot holds no stock, or open pick lists or put-aways count on packs there",
        "2 the slot is not configured, or the ledger is in use by the daemon or cannot be read",
    ),
    "stock": ("0 the stock was printed (none is fine)", LEDGER),
    "where": ("0 found", "1 the pack was never booked in", LEDGER),
    "history": (
        "0 the movements were printed (none is fine)",
        "2 the ledger or configuration cannot be read, a usage error, or no slot of that name "
        "but one named so in another case or without spaces (the message says which)",
    ),
    "expiring": ("0 the list was printed (empty is fine)", LEDGER),
    "tag": GROUP,
    "tag decode": ("0 every EPC was decoded", "1 at least one is not a tag rxedge tracks"),
    "barcode": GROUP,
    "barcode decode": (
        "0 every code was read",
        "1 at least one was refused (the reason is printed)",
    ),
    "web": (
        "0 stopped by SIGTERM or SIGINT",
        "2 the configuration, a TLS file, the broker password file or the listen address cannot "
        "be used, or a usage error (the message names the setting)",
    ),
    "web add-user": (
        "0 the account was saved",
        "2 a wrong user name, name or password, or a usage error",
    ),
    "web remove-user": ("0 the account was removed", "2 no such account, or a usage error"),
    "web users": (
        "0 the accounts were printed (none is fine)",
        "2 the accounts file cannot be read, or a usage error",
    ),
    "sim": GROUP,
    "sim r2000": SIMULATED,
    "sim chafon": SIMULATED,
    "sim scanner": SIMULATED,
    "sim badge": SIMULATED,
    "sim shelf": SIMULATED,
    "sim ctl": (
        "0 the simulator answered ok",
        "1 it answered error (the reason is printed)",
        "2 no simulator control listens on that port, or a usage error",
    ),
}


def commands_of(
    parser: argparse.ArgumentParser, path: str = ""
) -> dict[str, argparse.ArgumentParser]:
    """Every parser under `parser` (itself included) by its command path, e.g. "ledger verify"."""
    found = {path: parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.update(commands_of(sub, f"{path} {name}".strip()))
    return found


def describe_exit_statuses(parser: argparse.ArgumentParser) -> None:
    """End each command's help with its exit statuses; a command missing from the table (or an
    entry without its command) is a mistake in the code, refused here."""
    commands = commands_of(parser)
    if unknown := set(commands) ^ set(EXIT_STATUSES):
        raise RuntimeError(f"exit statuses and commands differ: {sorted(unknown)}")
    for path, command in commands.items():
        statuses = EXIT_STATUSES[path]
        if not any(line.startswith("2 ") for line in statuses):
            statuses = (*statuses, USAGE)
        ordered = sorted(statuses, key=_status_number)
        command.epilog = "exit status:\n" + "\n".join(map(_wrapped, ordered))
        command.formatter_class = argparse.RawDescriptionHelpFormatter


def _wrapped(line: str) -> str:
    """A status line as the help shows it: within 80 columns, its number standing out."""
    return textwrap.fill(line, HELP_WIDTH, initial_indent="  ", subsequent_indent="    ")


def _status_number(line: str) -> int:
    first = line.split(" ", 1)[0]
    return int(first) if first.isdigit() else 1000  # a note goes last
