"""The daemon's own exceptions, one hierarchy (the layers below have theirs: `inventory.errors`,
`sync.errors`, `drivers.errors`): a configuration that cannot be used
(`edge.settings.config.ConfigError`), a metrics endpoint that does not answer
(`edge.service.metrics_scrape.Unreachable`), no broker to run (`edge.demo.local_broker.
BrokerUnavailable`). Each message names the thing and the fix."""

from __future__ import annotations


class EdgeError(Exception):
    """Anything the daemon, its tools or its demo cannot do."""
