"""The daemon's own exceptions, one hierarchy (the layers below have theirs: `inventory.errors`,
`sync.errors`, `drivers.errors`): a configuration that cannot be used (`ConfigError`, here so
that a command catches it without loading the configuration's models), a metrics endpoint that
does not answer (`edge.service.metrics_scrape.Unreachable`), no broker to run
(`edge.demo.local_broker.BrokerUnavailable`). Each message names the thing and the fix."""

from __future__ import annotations


class EdgeError(Exception):
    """Anything the daemon, its tools or its demo cannot do."""


class ConfigError(EdgeError):
    """The configuration cannot be used; `problems` lists each with its key and a fix."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "\n".join(problems))
