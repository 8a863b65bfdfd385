"""MetricProvider on HAProxy's request log: per-version values from the requests themselves."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from moai_deploy.analysis.base import Measurement, MeasureTarget
from moai_deploy.analysis.haproxy.log import LogWindow, RequestLog
from moai_deploy.spec.analysis import MetricSpec, PrometheusProvider

# HAProxy logs a request when it ends: a window closes this long after its end, so the
# requests that started inside it have been written.
SETTLE = 0.05


class HaproxyMetricProvider:
    """Measures the router's own view of each version from `access_log`."""

    def __init__(
        self,
        access_log: Path,
        log: RequestLog | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._log = log or RequestLog(access_log)
        self._clock = clock
        self._began: float | None = None

    @property
    def log(self) -> RequestLog:
        """The request log, also a SampleSource for the judge."""
        return self._log

    def begin(self, target: MeasureTarget) -> None:
        """The first window starts now."""
        self._began = self._clock()

    def stats(self, backend: str, window: float) -> LogWindow | None:
        """What `backend` did over the last `window` seconds."""
        until = self._clock() - SETTLE
        since = until - window
        if self._began is not None:
            since = max(since, self._began)
        return self._log.window(backend, since, until) if until > since else None

    def measure(self, metric: MetricSpec, target: MeasureTarget, window: float) -> Measurement:
        """Measure `metric` for `target` over the last `window` seconds."""
        spec = metric.provider
        at = self._clock()
        if isinstance(spec, PrometheusProvider):
            return Measurement(None, at, error=f"metric {metric.name!r} is a prometheus metric")
        try:
            canary = self.stats(target.canary, window)
            stable = self.stats(target.stable, window) if target.stable else None
        except OSError as exc:
            return Measurement(None, at, error=f"reading the HAProxy log failed: {exc}")
        if spec.measure == "error_rate_delta" and target.stable is None:
            return Measurement(None, at, error="error_rate_delta needs a stable version")
        if canary is None:
            return Measurement(None, at)
        value = _value(spec.measure, spec.quantile, canary, stable)
        return Measurement(value, at, canary.requests, stable.requests if stable else 0)


def _value(
    measure: str, quantile: float, canary: LogWindow, stable: LogWindow | None
) -> float | None:
    if measure == "success_rate":
        return canary.success_rate
    if measure == "error_rate":
        return canary.error_rate
    if measure == "latency":
        return canary.quantile(quantile)
    if measure == "request_rate":
        return canary.request_rate
    canary_rate = canary.error_rate
    stable_rate = stable.error_rate if stable else None
    if canary_rate is None or stable_rate is None:
        return None
    return canary_rate - stable_rate
