"""The standard `process_*` metrics, read from what the service may see of /proc.

The shipped units set `ProcSubset=pid`: the daemon sees its own /proc/<pid> files but not
/proc/stat, where the boot time is, and a collector that needs the boot time for the process's
start time exports nothing at all there. This one takes the boot time from the clocks instead
(the wall clock less the time since boot), and names its figures as Prometheus's client
libraries do, so the same dashboards serve.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterable
from pathlib import Path

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = resource.getpagesize()


class ProcessFigures(Collector):
    """CPU seconds, memory, start time and file descriptors of this process."""

    def __init__(self, proc: Path = Path("/proc/self")):
        self._proc = proc

    def collect(self) -> Iterable[Metric]:
        try:
            stat = (self._proc / "stat").read_bytes()
        except OSError:
            return
        # The fields after the command's name, which may itself hold spaces and parentheses.
        fields = stat.rsplit(b")", 1)[1].split()
        user, system = int(fields[11]) / _TICKS, int(fields[12]) / _TICKS
        started = int(fields[19]) / _TICKS  # seconds after boot
        booted = time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
        yield CounterMetricFamily(
            "process_cpu_seconds", "Total user and system CPU time spent in seconds.", user + system
        )
        yield GaugeMetricFamily(
            "process_virtual_memory_bytes", "Virtual memory size in bytes.", int(fields[20])
        )
        yield GaugeMetricFamily(
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
            int(fields[21]) * _PAGE,
        )
        yield GaugeMetricFamily(
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.",
            round(booted + started, 2),
        )
        try:
            open_fds = len(os.listdir(self._proc / "fd"))
        except OSError:
            return
        yield GaugeMetricFamily("process_open_fds", "Number of open file descriptors.", open_fds)
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        yield GaugeMetricFamily("process_max_fds", "Maximum number of open file descriptors.", soft)
