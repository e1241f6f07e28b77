"""The configuration the demo daemon runs with: the same schema as a real gateway's, its devices
the simulators' ports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edge.demo.stock import (
    DELIVERY,
    DWELL_SECONDS,
    GATEWAY,
    IDLE_SECONDS,
    MISTAKE_SECONDS,
    PRODUCTS,
    SHELF,
    SHELF_GLN,
    SITE,
    SLOTS,
    STATION,
    TAGGED,
)
from edge.settings.sections import MetricsConfig
from edge.web.server import WebSetupError, bind
from inventory.site_calendar import tz_zone_name


@dataclass(frozen=True, slots=True)
class DemoPorts:
    """Where the simulated devices answer."""

    reader: str  # the R2000 fixed reader
    scanner: str  # the desk scanner
    goods_in: str  # the put-away scanner
    handheld: str  # the Chafon handheld, for stocktakes
    shelf: int  # the shelf controller's Modbus TCP port


def free_metrics_listen() -> str:
    """The default metrics address when nothing listens there yet, else "" (no endpoint): a
    gateway or another demo on this machine keeps its own. Probed as `--web PORT` is."""
    listen = MetricsConfig().listen
    try:
        bind(listen).close()
    except WebSetupError:
        return ""
    return listen


def demo_config(
    db: Path,
    broker_url: str,
    ports: DemoPorts,
    protocol: str = "5",
    metrics: str = "",
    gateway: str = GATEWAY,
) -> dict[str, object]:
    """The daemon's configuration, as parse_config takes it; `metrics`, where its Prometheus
    endpoint listens ("" for none); `gateway`, its name under the demo's site. Its `timezone`
    is the zone of the shell's $TZ, if that names one: the demo runs where it was started, with
    no service beside it that would judge dates without that $TZ."""
    return {
        "site": SITE,
        "gateway": gateway,
        "timezone": tz_zone_name(),
        "database": str(db),
        "create_database": True,
        "broker": {**_broker_urls(broker_url), "protocol": protocol},
        "presence": {"dwell_seconds": DWELL_SECONDS},
        "metrics": {"listen": metrics},
        "picking": {"mistake_seconds": MISTAKE_SECONDS, "remind_after_seconds": IDLE_SECONDS},
        "readers": [
            {
                "name": "shelf-A-reader",
                "port": ports.reader,
                "baudrate": 115200,
                "antennas": {str(t.antenna): t.slot for t in TAGGED},
            },
            {"name": "handheld", "protocol": "chafon", "role": "handheld", "port": ports.handheld},
        ],
        "scanners": [
            {"name": "desk-scanner", "port": ports.scanner, "baudrate": 9600},
            {
                "name": "goods-in",
                "port": ports.goods_in,
                "baudrate": 9600,
                "role": "putaway",
                "receive_to": STATION,
            },
        ],
        "shelves": [
            {
                "name": SHELF,
                "transport": "tcp",
                "host": "127.0.0.1",
                "port": ports.shelf,
                "slots": SLOTS,
                "gln": SHELF_GLN,  # the slots' location tags, read by the handheld
            }
        ],
        "products": [
            {
                "gtin": p.gtin,
                "name": p.name,
                "reorder_point": p.reorder_point,
                "par": p.par,
                "slots": list(p.slots),
                # Counted packs (booked by batch) carry no serial in their codes.
                "require_serial": p.gtin not in {batch.product.gtin for batch in DELIVERY},
            }
            for p in PRODUCTS
        ],
    }


def _broker_urls(text: str) -> dict[str, object]:
    """`url` for one broker, `urls` for several (comma-separated, tried in order)."""
    urls = [url.strip() for url in text.split(",") if url.strip()]
    return {"url": urls[0]} if len(urls) == 1 else {"urls": urls}
