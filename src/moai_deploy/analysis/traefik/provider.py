"""MetricProvider on Traefik's own Prometheus endpoint: per-version values from counter deltas."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx

from moai_deploy.analysis.base import Measurement, MeasureTarget
from moai_deploy.analysis.traefik.scrape import (
    Scrape,
    ScrapeHistory,
    WindowStats,
    parse_scrape,
    window_stats,
)
from moai_deploy.spec.analysis import MetricSpec, TraefikProvider

# Metrics measured in the same instant share one scrape (one window, consistent values).
SHARE_SCRAPE_WITHIN = 0.05


class TraefikMetricProvider:
    """Scrapes `metrics_url` (see `TraefikProcess.metrics_url`) and keeps recent scrapes;
    `auth`: the (user, password) Traefik's metrics want (`TraefikProcess.metrics_credentials`)."""

    def __init__(
        self,
        metrics_url: str,
        auth: tuple[str, str] | None = None,
        timeout: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = metrics_url
        self._client = httpx.Client(timeout=timeout, auth=auth)
        self._history = ScrapeHistory()
        self._monotonic = monotonic
        # A step analysis and a background analysis may share this provider.
        self._lock = threading.Lock()

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self._client.close()

    def begin(self, target: MeasureTarget) -> None:
        """Take a baseline scrape: the first window starts here."""
        with self._lock:
            self._scrape()

    def stats(self, backend: str, window: float) -> WindowStats | None:
        """What `backend` did over about the last `window` seconds (None before a baseline)."""
        with self._lock:
            latest = self._scrape()
            baseline = self._history.baseline(latest, window)
        return window_stats(latest, baseline, backend) if baseline is not None else None

    def _pair_stats(
        self, target: MeasureTarget, window: float
    ) -> tuple[WindowStats | None, WindowStats | None]:
        # One scrape and one baseline for both sides: two scrapes taken a moment apart (a
        # loaded machine) could pick different baselines and give stable an empty window.
        with self._lock:
            latest = self._scrape()
            baseline = self._history.baseline(latest, window)
        if baseline is None:
            return None, None
        canary = window_stats(latest, baseline, target.canary)
        stable = window_stats(latest, baseline, target.stable) if target.stable else None
        return canary, stable

    def measure(self, metric: MetricSpec, target: MeasureTarget, window: float) -> Measurement:
        """Measure `metric` for `target` over the last `window` seconds."""
        spec = metric.provider
        at = time.time()
        if not isinstance(spec, TraefikProvider):
            return Measurement(None, at, error=f"metric {metric.name!r} is not a traefik metric")
        try:
            canary, stable = self._pair_stats(target, window)
        except (httpx.HTTPError, ValueError) as exc:
            return Measurement(None, at, error=f"scraping {self._url} failed: {exc!r}")
        if canary is None:
            return Measurement(None, at)  # no baseline yet: nothing to compare with
        stable_samples = int(stable.requests) if stable else 0
        if spec.measure == "error_rate_delta" and target.stable is None:
            return Measurement(None, at, error="error_rate_delta needs a stable version")
        value = _value(spec, canary, stable)
        return Measurement(value, at, int(canary.requests), stable_samples)

    def _scrape(self) -> Scrape:
        latest = self._history.latest()
        now = self._monotonic()
        if latest is not None and now - latest.at < SHARE_SCRAPE_WITHIN:
            return latest
        response = self._client.get(self._url)
        response.raise_for_status()
        scrape = parse_scrape(response.text, now)
        self._history.add(scrape)
        return scrape


def _value(spec: TraefikProvider, canary: WindowStats, stable: WindowStats | None) -> float | None:
    if spec.measure == "success_rate":
        return canary.success_rate
    if spec.measure == "error_rate":
        return canary.error_rate
    if spec.measure == "latency":
        return canary.quantile(spec.quantile)
    if spec.measure == "request_rate":
        return canary.request_rate
    canary_rate = canary.error_rate
    stable_rate = stable.error_rate if stable else None
    if canary_rate is None or stable_rate is None:
        return None  # either side without requests: nothing to compare
    return canary_rate - stable_rate
