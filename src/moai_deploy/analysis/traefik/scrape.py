"""Traefik's Prometheus exposition, reduced to per-service counters and windows between scrapes.

Traefik exports `traefik_service_requests_total{code,method,protocol,service}` and the
histogram `traefik_service_request_duration_seconds_bucket{...,le}`; `service` is the
router backend's name with its provider suffix, e.g. "hello-production-green@file".
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from prometheus_client.parser import text_string_to_metric_families

from moai_deploy.analysis.histogram import histogram_quantile

REQUESTS = "traefik_service_requests_total"
DURATION_BUCKETS = "traefik_service_request_duration_seconds_bucket"
_K = TypeVar("_K", str, float)


def service_label(backend: str) -> str:
    """Traefik's `service` label for a file-provider backend name."""
    return backend if "@" in backend else f"{backend}@file"


@dataclass
class ServiceCounters:
    """Cumulative counters of one Traefik service: requests by status code, duration buckets."""

    requests: dict[str, float] = field(default_factory=dict)
    buckets: dict[float, float] = field(default_factory=dict)  # upper bound -> count


@dataclass(frozen=True)
class Scrape:
    """One scrape of Traefik's metrics, stamped with a monotonic time."""

    at: float
    services: Mapping[str, ServiceCounters]


def parse_scrape(text: str, at: float) -> Scrape:
    """Parse an exposition text into per-service counters (summed over method and protocol)."""
    services: dict[str, ServiceCounters] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name not in (REQUESTS, DURATION_BUCKETS):
                continue
            service = sample.labels.get("service")
            if service is None:
                continue
            counters = services.setdefault(service, ServiceCounters())
            if sample.name == REQUESTS:
                code = sample.labels.get("code", "")
                counters.requests[code] = counters.requests.get(code, 0.0) + sample.value
            else:
                bound = float(sample.labels["le"])
                counters.buckets[bound] = counters.buckets.get(bound, 0.0) + sample.value
    return Scrape(at, services)


def _increase(new: Mapping[_K, float], old: Mapping[_K, float]) -> dict[_K, float]:
    # A counter that went down was reset (Traefik restarted): count it from zero, like PromQL.
    return {
        key: value - old.get(key, 0.0) if value >= old.get(key, 0.0) else value
        for key, value in new.items()
    }


@dataclass(frozen=True)
class WindowStats:
    """What one service did between two scrapes."""

    seconds: float
    requests: float
    errors: float  # 5xx responses
    buckets: Mapping[float, float]

    @property
    def success_rate(self) -> float | None:
        return 1.0 - self.errors / self.requests if self.requests > 0 else None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests > 0 else None

    @property
    def request_rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def quantile(self, q: float) -> float | None:
        """Latency quantile in seconds over the window; None without requests."""
        return histogram_quantile(q, self.buckets) if self.buckets else None


def window_stats(latest: Scrape, baseline: Scrape, backend: str) -> WindowStats:
    """Counter deltas of `backend` from `baseline` to `latest`."""
    label = service_label(backend)
    empty = ServiceCounters()
    new, old = latest.services.get(label, empty), baseline.services.get(label, empty)
    requests = _increase(new.requests, old.requests)
    errors = sum(v for code, v in requests.items() if code.startswith("5"))
    buckets = _increase(new.buckets, old.buckets)
    seconds = max(0.0, latest.at - baseline.at)
    return WindowStats(seconds, sum(requests.values()), errors, buckets)


class ScrapeHistory:
    """Recent scrapes, so each window finds the scrape taken closest to its start."""

    def __init__(self, keep_seconds: float = 3600.0, max_scrapes: int = 8192) -> None:
        self._scrapes: deque[Scrape] = deque(maxlen=max_scrapes)
        self._keep = keep_seconds

    def latest(self) -> Scrape | None:
        return self._scrapes[-1] if self._scrapes else None

    def add(self, scrape: Scrape) -> None:
        """Remember `scrape`, forgetting those too old for any window asked so far."""
        self._scrapes.append(scrape)
        while len(self._scrapes) > 2 and self._scrapes[1].at < scrape.at - self._keep:
            self._scrapes.popleft()

    def baseline(self, latest: Scrape, window: float) -> Scrape | None:
        """The earlier scrape nearest to `latest.at - window` (None if there is none)."""
        self._keep = max(self._keep, 2 * window + 10.0)
        start = latest.at - window
        earlier = [s for s in self._scrapes if s.at < latest.at]
        return min(earlier, key=lambda s: abs(s.at - start), default=None)
