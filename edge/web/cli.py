"""`rxedge web`: serve the page; `rxedge web add-user` / `remove-user` / `users`: its accounts."""

from __future__ import annotations

import argparse
import getpass
import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.cli.config_file import add_config_option, read_config
from edge.service.journal import tell

if TYPE_CHECKING:
    from edge.web.accounts import Accounts


def add_web_commands(commands: Any) -> None:
    """The `web` command and its sub-commands (`commands`: the parser's subparsers)."""
    config = argparse.ArgumentParser(add_help=False)  # the option every one of them takes
    add_config_option(config, "its site, ledger, broker and [web] section")
    web = commands.add_parser(
        "web", parents=[config], help="the pharmacy's web page (and its accounts)"
    )
    web.add_argument("--listen", metavar="HOST:PORT", help="instead of the config's web.listen")
    web.set_defaults(handler=run_web)
    sub = web.add_subparsers(metavar="COMMAND")
    add = sub.add_parser(
        "add-user", parents=[config], help="add an account (or give it a new password)"
    )
    add.add_argument("user", help="what is typed to log in, e.g. ana.ruiz")
    add.add_argument("--name", required=True, help="the person's name, as the ledger shows it")
    add.add_argument(
        "--badge", metavar="UID", help="the UID of the person's badge (hex), to log in by a tap"
    )
    add.add_argument(
        "--password-file",
        type=Path,
        help="read the password from this file's first line (default: ask, or read stdin)",
    )
    add.set_defaults(handler=run_add_user)
    remove = sub.add_parser("remove-user", parents=[config], help="remove an account")
    remove.add_argument("user", help="the account to remove (its sessions end too)")
    remove.set_defaults(handler=run_remove_user)
    users = sub.add_parser("users", parents=[config], help="list the accounts")
    users.add_argument("--json", action="store_true", help="one JSON object per account")
    users.set_defaults(handler=run_users)


def run_web(args: argparse.Namespace) -> int:
    import asyncio  # loaded for the page alone, not for the other commands' parsers

    from edge.web.server import WebSetupError, start_page

    config = read_config(args)

    async def serve() -> int:
        try:
            page = await start_page(config, args.listen)
        except WebSetupError as exc:
            tell(f"rxedge web: {exc}")
            return 2
        print(f"rxedge web: serving {config.site}/{config.gateway} at {page.url}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await asyncio.wait(
            [asyncio.create_task(stop.wait()), page.task], return_when=asyncio.FIRST_COMPLETED
        )
        await page.stop()
        return 0

    return asyncio.run(serve())


def _accounts(args: argparse.Namespace) -> Accounts:
    from edge.web.accounts import Accounts  # argon2 with it: for the account commands alone

    return Accounts(read_config(args).web.users_file)


def run_add_user(args: argparse.Namespace) -> int:
    badge = f", badge {args.badge.upper()}" if args.badge else ""
    return _change_accounts(
        args,
        "add-user",
        lambda accounts: accounts.add(args.user, args.name, _password(args), args.badge),
        lambda path: f"account {args.user} ({args.name}{badge}) saved in {path}",
    )


def run_remove_user(args: argparse.Namespace) -> int:
    return _change_accounts(
        args,
        "remove-user",
        lambda accounts: accounts.remove(args.user),
        lambda path: (
            f"account {args.user} removed from {path}; its sessions end at their next click"
        ),
    )


def _change_accounts(
    args: argparse.Namespace,
    command: str,
    change: Callable[[Accounts], None],
    done: Callable[[Path], str],
) -> int:
    """Make `change` to the accounts file and say what was `done` to it; a refused or failed
    change is said on stderr, with exit status 2."""
    from edge.web.accounts import AccountError

    accounts = _accounts(args)
    try:
        change(accounts)
    except (AccountError, OSError) as exc:
        print(f"rxedge web {command}: {exc}", file=sys.stderr)
        return 2
    print(done(accounts.path))
    return 0


def run_users(args: argparse.Namespace) -> int:
    from edge.web.accounts import AccountError

    try:
        accounts = _accounts(args)
        found, badges = accounts.users(), accounts.badges()
    except AccountError as exc:
        print(f"rxedge web users: {exc}", file=sys.stderr)
        return 2
    for account in found:
        badge = badges.get(account.user)
        if args.json:
            print(json.dumps({"user": account.user, "name": account.name, "badge": badge}))
        else:
            print(f"{account.user}\t{account.name}" + (f"\tbadge {badge}" if badge else ""))
    return 0


def _password(args: argparse.Namespace) -> str:
    from edge.web.accounts import AccountError

    if args.password_file is not None:
        lines = args.password_file.read_text(encoding="utf-8").splitlines()
        return lines[0] if lines else ""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise AccountError("the two passwords differ; nothing was saved")
    return first
