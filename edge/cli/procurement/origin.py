"""Which gateway `rxedge procurement status` answers: the one the request came from.

A request is known by where it came from in the watch's own files (`--csv`, `--seen`): its site
and gateway are taken from there, and `--site`/`--gateway` naming another gateway are refused,
for the answer would go to a pharmacy that did not ask (and be lost there, refused on a topic
nobody at the centre hears). Without them, `--site` and `--gateway` say it, else the
configuration's gateway as before; with no configuration either, the clerk is asked for them.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from pathlib import Path

from edge.cli.config_file import config_given, config_path
from edge.cli.procurement.request_csv import written_requests
from sync.broker_security import BrokerLink
from sync.procurement_feed import RequestKey, read_seen
from sync.topics import Topics

Target = Callable[[argparse.Namespace], tuple[BrokerLink, Topics]]


class OriginUnknown(ValueError):
    """The gateway to answer cannot be told, or the one given is not the request's."""


def origins_of(request_id: str, csv: Path | None, seen: Path | None) -> dict[Topics, Path]:
    """The gateways the watch's files say `request_id` came from, each with the file saying it
    (ids kept alone, by an older watch, say nothing of their gateway)."""
    found: dict[Topics, Path] = {}
    for option, path, read in (("--csv", csv, written_requests), ("--seen", seen, read_seen)):
        if path is None:
            continue
        if not path.is_file():
            raise OriginUnknown(f"{option} {path}: no such file (the watch's {option} file)")
        keys: list[RequestKey] = read(path)
        for key in keys:
            if key.request_id == request_id and key.site:
                found.setdefault(Topics(key.site, key.gateway), path)
    return found


def answer_target(args: argparse.Namespace, target: Target) -> tuple[BrokerLink, Topics]:
    """The broker and the gateway that `rxedge procurement status` sends its answer to (see the
    module); OriginUnknown says why there is none."""
    rid = args.request_id
    found = origins_of(rid, args.csv, args.seen)
    fits = [
        origin
        for origin in found
        if args.site in (None, origin.site) and args.gateway in (None, origin.gateway)
    ]
    if found and not fits:
        asked = (("--site", args.site), ("--gateway", args.gateway))
        given = " ".join(f"{option} {value}" for option, value in asked if value)
        raise OriginUnknown(
            f"request {rid} came from {_listed(found, found)}, not {given}: the answer would go "
            "to a gateway that did not ask for it; give the request's own --site and "
            "--gateway, or leave them out"
        )
    if len(fits) > 1:
        raise OriginUnknown(
            f"request {rid} came from {_listed(fits, found)} (the same id at two gateways): "
            "give --site and --gateway to say which one to answer"
        )
    site, gateway = (fits[0].site, fits[0].gateway) if fits else (args.site, args.gateway)
    if not (config_given(args) or config_path(args).is_file()):
        named = (("--broker URL", args.broker), ("--site", site), ("--gateway", gateway))
        wanted = [option for option, value in named if not value]
        if wanted:
            kept = "" if args.csv is None and args.seen is None else " (not in the files given)"
            raise OriginUnknown(
                f"request {rid}: give {_and(wanted)} (there is no configuration to take "
                f"them from: {config_path(args)} does not exist)"
                + (
                    f"; the gateway it came from is not known here{kept}: the watch's line for "
                    "the request shows its --site and --gateway, and its --csv or --seen file "
                    "tells them"
                    if not (site and gateway)
                    else ""
                )
            )
    return target(argparse.Namespace(**{**vars(args), "site": site, "gateway": gateway}))


def _listed(origins: Iterable[Topics], found: dict[Topics, Path]) -> str:
    return " and ".join(f"{o.site}/{o.gateway} ({found[o]})" for o in origins)


def _and(words: list[str]) -> str:
    return " and ".join([", ".join(words[:-1]), words[-1]] if len(words) > 1 else words)
