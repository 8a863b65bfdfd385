"""Metric providers by kind: each metric's `provider.type` picks its implementation.

As Argo Rollouts' `metricproviders/`: one folder per provider (`traefik/`, `prometheus/`),
registered here with a builder and a check. A new provider (Datadog, New Relic) adds its
spec model to `spec.analysis.Provider`, a folder, and one `register(...)` call. The check
runs before any state is written, so an unusable provider is bad input (exit 2), not a
failed release.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from moai_deploy.analysis.base import Measurement, MeasureTarget, MetricProvider, SampleSource
from moai_deploy.spec.analysis import MetricSpec


@dataclass(frozen=True)
class ProviderSetup:
    """What providers may need from the project (the composition root builds it)."""

    router_metrics: Callable[[], MetricProvider]  # the router's own: `type: router` metrics
    samples: Callable[[], SampleSource]  # per-request samples of the router, for judges


@dataclass(frozen=True)
class ProviderEntry:
    """How to build one kind of provider, and how to tell early that it cannot work."""

    build: Callable[[ProviderSetup], MetricProvider]
    check: Callable[[Any], str | None]  # the metric's provider spec -> None, or why not


PROVIDERS: dict[str, ProviderEntry] = {}


def register(
    kind: str, build: Callable[[ProviderSetup], MetricProvider], check: Any = None
) -> None:
    """Make `kind` (a metric's `provider.type`) measurable."""
    PROVIDERS[kind] = ProviderEntry(build, check or (lambda _spec: None))


def check_metric(metric: MetricSpec) -> str | None:
    """None when the metric's provider can measure it, else why not (with the fix)."""
    entry = PROVIDERS.get(metric.provider.type)
    if entry is None:
        return f"no metric provider {metric.provider.type!r}; known: {sorted(PROVIDERS)}"
    return entry.check(metric.provider)


class MetricsByProvider:
    """One MetricProvider over several kinds: each metric goes to its own kind's provider."""

    def __init__(self, setup: ProviderSetup, metrics: Iterable[MetricSpec]) -> None:
        kinds = sorted({m.provider.type for m in metrics})
        self._providers = {kind: PROVIDERS[kind].build(setup) for kind in kinds}

    def begin(self, target: MeasureTarget) -> None:
        """Every provider takes its baseline (counter-based ones need it)."""
        for provider in self._providers.values():
            provider.begin(target)

    def measure(self, metric: MetricSpec, target: MeasureTarget, window: float) -> Measurement:
        provider = self._providers.get(metric.provider.type)
        if provider is None:
            raise KeyError(f"no provider for {metric.provider.type!r}")
        return provider.measure(metric, target, window)

    def close(self) -> None:
        """Release each provider's connections."""
        for provider in self._providers.values():
            close = getattr(provider, "close", None)
            if callable(close):
                close()


def _router(setup: ProviderSetup) -> MetricProvider:
    return setup.router_metrics()


def _prometheus(setup: ProviderSetup) -> MetricProvider:
    from moai_deploy.analysis.prometheus.provider import PrometheusMetricProvider

    return PrometheusMetricProvider()


def _prometheus_reachable(spec: Any) -> str | None:
    url = str(spec.address).rstrip("/") + "/-/ready"
    try:
        response = httpx.get(url, timeout=min(float(spec.timeout), 5.0))
    except httpx.HTTPError as exc:
        return f"Prometheus at {spec.address} is not reachable ({type(exc).__name__}: {exc})"
    if response.status_code != 200:
        return f"Prometheus at {spec.address} is not ready (GET /-/ready: {response.status_code})"
    return None


register("router", _router)  # the router's own metrics, whichever router it is
register("traefik", _router)  # its former name
register("prometheus", _prometheus, _prometheus_reachable)
