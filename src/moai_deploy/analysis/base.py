"""The metric provider protocol and the types an analysis run passes around."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from moai_deploy.spec.analysis import MetricSpec


class AnalysisPhase(StrEnum):
    """Phase of a measurement, a metric or a whole run (Argo's names)."""

    RUNNING = "running"
    SUCCESSFUL = "successful"
    FAILED = "failed"
    INCONCLUSIVE = "inconclusive"  # no data, or between the thresholds: pause for a human
    ERROR = "error"  # the provider could not measure, too often in a row

    @property
    def completed(self) -> bool:
        return self is not AnalysisPhase.RUNNING


@dataclass(frozen=True)
class MeasureTarget:
    """Which router backends (one per version) a measurement compares.

    Names are the `WeightedBackend.name`s, e.g. "hello-production-green"; Traefik's metrics
    label them "hello-production-green@file", which providers account for.
    """

    canary: str
    stable: str | None = None


@dataclass(frozen=True)
class Measurement:
    """What a provider measured over one window."""

    value: float | None  # None: no data in the window (e.g. no requests) -> inconclusive
    at: float  # wall-clock time of the measurement (seconds since the epoch)
    samples: int = 0  # requests behind the canary's value
    stable_samples: int = 0  # requests behind the stable version's value, when compared
    error: str | None = None  # set when the provider could not measure at all


class MetricProvider(Protocol):
    """Measures one metric of a target over a window; one implementation per folder."""

    def begin(self, target: MeasureTarget) -> None:
        """Mark the start of a window (counter-based providers take a baseline here)."""
        ...

    def measure(self, metric: MetricSpec, target: MeasureTarget, window: float) -> Measurement:
        """Measure `metric` over the last `window` seconds; errors go in `Measurement.error`."""
        ...


@dataclass(frozen=True)
class RequestSample:
    """One request as the router saw it: for the statistical judge."""

    at: float  # start, seconds since the epoch
    duration: float  # seconds
    status: int


class SampleSource(Protocol):
    """Per-request samples of one backend, e.g. from Traefik's access log."""

    def samples(self, backend: str, since: float, until: float) -> list[RequestSample]:
        """Requests to `backend` that started within [since, until) (wall-clock seconds)."""
        ...


class Clock(Protocol):
    """Time for analysis runs; injected so tests run instantly and deterministically."""

    def monotonic(self) -> float:
        """Seconds on a monotonic clock (schedules measurements)."""
        ...

    def time(self) -> float:
        """Wall-clock seconds since the epoch (stamps results)."""
        ...

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        """Sleep up to `seconds`; True if `stop` was set (then return at once)."""
        ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        return stop.wait(max(0.0, seconds))
