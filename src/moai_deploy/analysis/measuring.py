"""One measurement, made safe: a provider that raises or hangs yields a measurement error
(counted by Argo's consecutive error limit), and `compare: ratio_to_stable` divides the
canary's value by the stable version's."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from moai_deploy.analysis.base import Measurement, MeasureTarget, MetricProvider
from moai_deploy.analysis.conditions import is_number
from moai_deploy.spec.analysis import MetricSpec

T = TypeVar("T")
MIN_TIMEOUT = 10.0  # seconds; a provider's own timeout (Prometheus `timeout`) adds to it


class ProviderTimeout(Exception):
    """The provider did not answer in time."""


def call_within(work: Callable[[], T], seconds: float) -> T:
    """`work()`'s result, or ProviderTimeout after `seconds` (the hung call is abandoned in
    a daemon thread: it cannot hold up the rollout, nor the process's exit)."""
    box: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            box.append(work())
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=target, name="measure", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise ProviderTimeout(f"no answer within {seconds:g}s")
    if failure:
        raise failure[0]
    return box[0]


def timeout_of(metric: MetricSpec) -> float:
    """How long one measurement may take."""
    own = getattr(metric.provider, "timeout", 0.0)
    return MIN_TIMEOUT + float(own)


def measure_safely(
    provider: MetricProvider, metric: MetricSpec, target: MeasureTarget, window: float
) -> Measurement:
    """Measure `metric`; any exception or a hang becomes a measurement error, never escapes."""
    try:
        return call_within(lambda: _measure(provider, metric, target, window), timeout_of(metric))
    except Exception as exc:
        return Measurement(None, time.time(), error=f"{type(exc).__name__}: {exc}")


def _measure(
    provider: MetricProvider, metric: MetricSpec, target: MeasureTarget, window: float
) -> Measurement:
    canary = provider.measure(metric, target, window)
    if metric.compare == "absolute" or canary.error is not None:
        return canary
    if target.stable is None:
        return Measurement(None, canary.at, canary.samples, error="ratio_to_stable needs a stable")
    stable = provider.measure(metric, MeasureTarget(target.stable), window)
    if stable.error is not None:
        return stable
    ours, theirs = canary.value, stable.value
    if ours is None or theirs is None or not is_number(ours) or not is_number(theirs) or not theirs:
        return Measurement(None, canary.at, canary.samples, stable.samples)  # no data
    return Measurement(ours / theirs, canary.at, canary.samples, stable.samples)
