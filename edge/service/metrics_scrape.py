"""Reading a Prometheus text endpoint from the outside: one scrape's samples, rates between two
scrapes, and quantiles estimated from a histogram's buckets (as PromQL's histogram_quantile)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from edge.errors import EdgeError

Labels = tuple[tuple[str, str], ...]


class Unreachable(EdgeError):
    """The endpoint did not answer with metrics."""


class NoAnswer(Unreachable):
    """Nothing answered at the endpoint's address (nothing listens there, or it timed out)."""


@dataclass(frozen=True, slots=True)
class Scrape:
    """Every sample of one scrape, by sample name, then by its labels (sorted pairs)."""

    samples: dict[str, dict[Labels, float]]
    at: float = field(default_factory=time.monotonic)

    def value(self, name: str, /, **labels: str) -> float | None:
        """The sample `name` with exactly these labels, or None."""
        return self.samples.get(name, {}).get(_key(labels))

    def series(self, name: str) -> list[tuple[dict[str, str], float]]:
        """Every sample named `name`: (its labels, its value)."""
        return [(dict(labels), value) for labels, value in self.samples.get(name, {}).items()]

    def buckets(self, histogram: str) -> list[tuple[float, float]]:
        """(upper bound, cumulative count) of a histogram without labels, in order."""
        found = [
            (float(dict(labels)["le"]), value)
            for labels, value in self.samples.get(f"{histogram}_bucket", {}).items()
        ]
        return sorted(found)


def scrape(url: str, timeout: float = 3.0) -> Scrape:
    """Fetch and parse the endpoint at `url`."""
    # Loaded by a scrape alone (http.client and ssl with it): every `rxedge` command builds
    # the parser of `rxedge status`, which imports this module.
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            text = response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        raise Unreachable(f"{url} answered HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise NoAnswer(f"cannot reach {url}: {reason}") from None
    try:
        return parse(text)
    except ValueError as exc:
        raise Unreachable(f"{url} did not answer with Prometheus metrics: {exc}") from None


def parse(text: str) -> Scrape:
    """The samples of a Prometheus text exposition."""
    from prometheus_client.parser import text_string_to_metric_families  # as urllib, above

    samples: dict[str, dict[Labels, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[_key(sample.labels)] = sample.value
    return Scrape(samples)


def rate(before: Scrape, after: Scrape, name: str, /, **labels: str) -> float | None:
    """Per-second increase of a counter between two scrapes (None when either lacks it)."""
    first, second = before.value(name, **labels), after.value(name, **labels)
    elapsed = after.at - before.at
    if first is None or second is None or elapsed <= 0:
        return None
    return max(0.0, second - first) / elapsed


def quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """The q-quantile of cumulative `buckets`, interpolated linearly inside its bucket; the
    highest finite bound when it lies above it; None without observations."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    total = buckets[-1][1]
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            inside = count - lower_count
            share = (rank - lower_count) / inside if inside > 0 else 1.0
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, count
    return lower_bound


def _key(labels: dict[str, str]) -> Labels:
    return tuple(sorted(labels.items()))
