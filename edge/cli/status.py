"""`rxedge status`: how the running daemon is doing, for a person, read from its metrics
endpoint (so it works without opening the ledger, while the daemon holds it).

Exit status: 0 all is well; 1 something needs attention (a device down, the broker not
connected, an outbox backlog, a storage alarm); 2 the daemon cannot be reached.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from edge.cli.config_file import add_config_option, config_given, config_path, read_config
from edge.service.metrics_address import DEFAULT_LISTEN, metrics_url, split_listen
from edge.service.metrics_scrape import NoAnswer, Scrape, Unreachable, quantile, rate, scrape

OK, ATTENTION, UNREACHABLE = 0, 1, 2
# The ledger's figures are read every refresh_seconds through its writer; older than two rounds
# and this, the writer has stopped answering (a commit waiting on a lock or a hanging disk).
LEDGER_SLACK_SECONDS = 10.0
# Said when nothing answers at the endpoint: most often, the daemon is not running.
NOT_RUNNING_HINT = "is the daemon running? systemctl status rxedge"


def add_status_command(commands: Any) -> None:
    """The `status` subcommand (`commands` is the parser's subparsers object)."""
    status = commands.add_parser(
        "status", help="how the running daemon is doing (read from its metrics endpoint)"
    )
    add_config_option(status, f"where its metrics listen; without one, {DEFAULT_LISTEN} is asked")
    status.add_argument(
        "--metrics", metavar="URL", help="the endpoint, e.g. http://127.0.0.1:9464/metrics"
    )
    status.add_argument(
        "--interval",
        type=float,
        default=1.0,
        help="seconds between the two scrapes that reads/s come from; 0: one scrape, "
        "averages since the start (%(default)s)",
    )
    status.add_argument("--timeout", type=float, default=3.0, help="seconds per scrape")
    status.add_argument("--json", action="store_true", help="one JSON object")
    status.set_defaults(handler=run_status)


def run_status(args: argparse.Namespace) -> int:
    """Scrape, summarise, print; the exit status."""
    url = args.metrics
    if url is None:
        path = config_path(args)
        if config_given(args) or path.exists():
            listen = read_config(args).metrics.listen
        else:
            listen = DEFAULT_LISTEN  # no configuration here: the daemon's default address
        if not listen:
            print(f"rxedge status: metrics are off in {path} ([metrics] listen)")
            return UNREACHABLE
        url = metrics_url(*split_listen(listen))
    try:
        first = _scrape_gateway(url, args.timeout)
        second = None
        if args.interval > 0:
            time.sleep(args.interval)
            second = _scrape_gateway(url, args.timeout)
    except Unreachable as exc:
        hint = NOT_RUNNING_HINT if isinstance(exc, NoAnswer) else None
        if args.json:
            found = {"url": url, "status": "unreachable", "error": str(exc)}
            print(json.dumps(found | ({"hint": hint} if hint else {})))
        else:
            print(f"rxedge status: {exc}" + (f"; {hint}" if hint else ""))
        return UNREACHABLE
    report = summarise(first, second, url)
    print(json.dumps(report) if args.json else render(report))
    return ATTENTION if report["problems"] else OK


def _scrape_gateway(url: str, timeout: float) -> Scrape:
    found = scrape(url, timeout)
    if not found.series("rxedge_gateway_info"):
        raise Unreachable(f"{url} answers, but not with an rxedge gateway's metrics")
    return found


def summarise(first: Scrape, second: Scrape | None, url: str) -> dict[str, Any]:
    """What `rxedge status` reports, as plain data (the --json output)."""
    now = second or first
    info = now.series("rxedge_gateway_info")[0][0]
    started = now.value("rxedge_gateway_start_time_seconds")
    uptime = max(0.0, time.time() - started) if started else None
    reasons = {
        labels["device"]: labels["reason"] for labels, _ in now.series("rxedge_device_down_info")
    }
    devices = [
        {
            "device": labels["device"],
            "kind": labels["kind"],
            "up": value == 1,
            "reason": None if value == 1 else reasons.get(labels["device"]),
        }
        for labels, value in now.series("rxedge_device_up")
    ]
    errors = [labels["error"] for labels, _ in now.series("rxedge_mqtt_connect_error_info")]
    flapping = {
        (labels["reader"], labels["antenna"])
        for labels, value in now.series("rxedge_antenna_flapping")
        if value == 1
    }
    antennas = [
        {
            "reader": labels["reader"],
            "antenna": int(labels["antenna"]),
            "slot": labels["slot"],
            "flapping": (labels["reader"], labels["antenna"]) in flapping,
        }
        for labels, value in now.series("rxedge_antenna_up")
        if value == 0
    ]
    stalled = [
        {"loop": labels["loop"], "seconds": value}
        for labels, value in now.series("rxedge_loop_stalled_seconds")
    ]
    readers = []
    for labels, reads in now.series("rxedge_tag_reads_total"):
        name = labels["reader"]
        if second is not None:
            per_second = rate(first, second, "rxedge_tag_reads_total", reader=name)
        else:
            per_second = reads / uptime if uptime else None
        bad = {
            kind["kind"]: int(count)
            for kind, count in now.series("rxedge_reader_bad_frames_total")
            if kind["reader"] == name
        }
        readers.append(
            {"reader": name, "reads_per_second": per_second, "reads": int(reads), "bad": bad}
        )
    pending = now.value("rxedge_outbox_pending_messages")
    outbox = {
        "pending": None if pending is None else int(pending),
        "oldest_age_seconds": now.value("rxedge_outbox_oldest_age_seconds"),
        "limit_messages": now.value("rxedge_outbox_backlog_limit_messages"),
        "limit_age_seconds": now.value("rxedge_outbox_backlog_limit_age_seconds"),
    }
    alarms = {
        labels["kind"]: int(value)
        for labels, value in now.series("rxedge_alarms_live")
        if value > 0
    }
    ledger = {
        "figures_age_seconds": now.value("rxedge_ledger_figures_age_seconds"),
        "refresh_seconds": now.value("rxedge_ledger_figures_refresh_seconds"),
    }
    picks = now.value("rxedge_pick_lists_open")
    report: dict[str, Any] = {
        "url": url,
        "site": info.get("site"),
        "gateway": info.get("gateway"),
        "version": info.get("version"),
        "uptime_seconds": uptime,
        "devices": devices,
        "antennas_down": antennas,
        "loops_stalled": stalled,
        "readers": readers,
        "outbox": outbox,
        "ledger": ledger,
        "alarms": alarms,
        "pick_lists_open": None if picks is None else int(picks),
        "mqtt": {
            "connected": now.value("rxedge_mqtt_connected") == 1,
            "reconnects": int(now.value("rxedge_mqtt_reconnects_total") or 0),
            "error": errors[0] if errors else None,
        },
        "latency": {
            "commit": _latency(now, "rxedge_ledger_commit_duration_seconds"),
            "publish": _latency(now, "rxedge_mqtt_publish_duration_seconds"),
        },
    }
    report["problems"] = problems(report)
    report["status"] = "attention" if report["problems"] else "ok"
    return report


def _latency(found: Scrape, histogram: str) -> dict[str, float | int | None]:
    buckets = found.buckets(histogram)
    return {
        "p50_seconds": quantile(0.5, buckets),
        "p99_seconds": quantile(0.99, buckets),
        "count": int(buckets[-1][1]) if buckets else 0,
    }


def problems(report: dict[str, Any]) -> list[str]:
    """What needs someone's attention, in words (empty: all is well)."""
    found = [
        f"{_kind(d)} {d['device']} is down"
        + (f": {d['reason']} (journalctl -u rxedge says more)" if d.get("reason") else "")
        for d in report["devices"]
        if not d["up"]
    ]
    found += [
        f"antenna {a['antenna']} of reader {a['reader']} keeps failing: "
        f"slot {a['slot']} is not watched reliably"
        if a["flapping"]
        else f"antenna {a['antenna']} of reader {a['reader']} has had no good round: "
        f"slot {a['slot']} is not watched"
        for a in report["antennas_down"]
    ]
    found += [
        f"{s['loop']} has made no progress for {_duration(s['seconds'])}: systemd "
        "restarts the service if it stays so (journalctl -u rxedge -p warning says more)"
        for s in report["loops_stalled"]
    ]
    mqtt = report["mqtt"]
    if not mqtt["connected"]:
        why = mqtt.get("error")
        found.append("not connected to the MQTT broker" + (f": {why}" if why else ""))
    outbox = report["outbox"]
    age, age_limit = outbox["oldest_age_seconds"], outbox["limit_age_seconds"]
    if age is not None and age_limit is not None and age > age_limit:
        found.append(
            f"outbox backlog: the oldest message has waited {_duration(age)} "
            f"(limit {_duration(age_limit)})"
        )
    pending, most = outbox["pending"], outbox["limit_messages"]
    if pending is not None and most is not None and pending > most:
        found.append(f"outbox backlog: {pending} messages waiting (limit {int(most)})")
    age, every = report["ledger"]["figures_age_seconds"], report["ledger"]["refresh_seconds"]
    if age is not None and every is not None and age > 2 * every + LEDGER_SLACK_SECONDS:
        found.append(
            f"the ledger has not answered for {_duration(age)}: nothing is being booked "
            "(journalctl -u rxedge -p warning says why)"
        )
    if report["alarms"].get("storage"):
        found.append("storage alarm: the ledger file is damaged or cannot be written")
    return found


def render(report: dict[str, Any]) -> str:
    """The report for a person."""
    uptime = report["uptime_seconds"]
    lines = [
        f"rxedge {report['version']} gateway {report['site']}/{report['gateway']}"
        + (f", up {_duration(uptime)}" if uptime is not None else "")
        + f" ({report['url']})"
    ]
    devices = report["devices"]
    down = [d for d in devices if not d["up"]]
    lines.append(f"devices: {len(devices) - len(down)} up, {len(down)} down")
    for d in devices:
        state = "up" if d["up"] else "DOWN"
        why = f": {d['reason']}" if d.get("reason") else ""
        lines.append(f"  {state:<5}{d['device']:<20}{_kind(d)}{why}")
    for a in report["antennas_down"]:
        lines.append(f"  DOWN {a['reader'] + ' antenna ' + str(a['antenna']):<20}slot {a['slot']}")
    for r in report["readers"]:
        per_second = r["reads_per_second"]
        speed = "?" if per_second is None else f"{per_second:.1f}"
        bad = sum(r["bad"].values())
        lines.append(
            f"reader {r['reader']}: {speed} reads/s ({r['reads']} reads, {bad} bad frames)"
        )
    outbox = report["outbox"]
    if outbox["pending"] is None:
        lines.append("outbox: not read yet")
    elif outbox["pending"] == 0:
        lines.append("outbox: empty")
    else:
        lines.append(
            f"outbox: {outbox['pending']} waiting, the oldest for "
            f"{_duration(outbox['oldest_age_seconds'] or 0)}"
        )
    alarms = report["alarms"]
    listed = ", ".join(f"{kind} {count}" for kind, count in sorted(alarms.items()))
    lines.append(f"live alarms: {listed or 'none'}")
    picks = report["pick_lists_open"]
    lines.append(f"pick lists open: {'?' if picks is None else picks}")
    mqtt = report["mqtt"]
    lines.append(
        f"mqtt: {'connected' if mqtt['connected'] else 'NOT CONNECTED'}"
        f" ({mqtt['reconnects']} reconnects)"
    )
    for what, key, unit in (
        ("ledger commit", "commit", "changes"),
        ("publish to marked sent", "publish", "messages"),
    ):
        figures = report["latency"][key]
        lines.append(
            f"{what}: p50 {_ms(figures['p50_seconds'])}, p99 {_ms(figures['p99_seconds'])} "
            f"({int(figures['count'])} {unit} since the start)"
        )
    if report["problems"]:
        lines.append("NEEDS ATTENTION:")
        lines += [f"  - {problem}" for problem in report["problems"]]
    else:
        lines.append("all is well")
    return "\n".join(lines)


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f} ms"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _kind(device: dict[str, Any]) -> str:
    """A device's kind in words (badge_reader: badge reader)."""
    return str(device["kind"]).replace("_", " ")
