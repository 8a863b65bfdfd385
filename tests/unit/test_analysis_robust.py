"""Analyses that survive real data and broken parts: providers that raise or hang, judges
with no or NaN samples, ratios to the baseline, and the provider registry's checks.

The providers here are scripted stand-ins for a broken provider (a real one cannot be made
to raise on demand); the end-to-end tests use real Traefik and Prometheus."""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from moai_deploy.analysis import measuring, registry
from moai_deploy.analysis.base import AnalysisPhase, Measurement, MeasureTarget, RequestSample
from moai_deploy.analysis.judge import judge_target
from moai_deploy.analysis.run import MeasurementResult, RunOptions, run_analysis
from moai_deploy.runtime.base import free_port
from moai_deploy.spec.analysis import AnalysisSpec, JudgeSpec, MetricSpec

P = AnalysisPhase
TARGET = MeasureTarget("hello-demo-green", "hello-demo-blue")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return 1_700_000_000.0 + self.now

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        self.now += max(0.0, seconds)
        return stop.is_set()


class Scripted:
    """Answers per backend; `raises` makes every measurement raise."""

    def __init__(self, values: dict[str, float | None], raises: bool = False) -> None:
        self.values, self.raises = values, raises

    def begin(self, target: MeasureTarget) -> None:
        pass

    def measure(self, metric: MetricSpec, target: MeasureTarget, window: float) -> Measurement:
        if self.raises:
            raise ValueError("provider bug")
        return Measurement(self.values.get(target.canary), time.time(), 10)


def _spec(**metric: Any) -> AnalysisSpec:
    base = {"name": "m", "interval": "1s", "success_condition": "result <= 1.2", "count": 1}
    return AnalysisSpec.model_validate({"metrics": [{**base, **metric}]})


def test_a_raising_provider_is_a_measurement_error_up_to_the_limit() -> None:
    heard: list[MeasurementResult] = []
    result = run_analysis(
        _spec(consecutive_error_limit=2),
        Scripted({}, raises=True),
        TARGET,
        None,
        RunOptions(FakeClock(), heard.append),
    )
    assert result.phase is P.ERROR
    assert [m.phase for m in heard] == [P.ERROR] * 3
    assert "provider bug" in heard[0].message and heard[0].condition == "success: result <= 1.2"


def test_a_hanging_provider_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(measuring, "MIN_TIMEOUT", 0.2)
    release = threading.Event()

    class Hangs(Scripted):
        def measure(self, metric: MetricSpec, target: MeasureTarget, window: float) -> Measurement:
            release.wait(30)
            return Measurement(1.0, time.time())

    started = time.monotonic()
    try:
        got = measuring.measure_safely(Hangs({}), _spec().resolved()[0], TARGET, 1.0)
    finally:
        release.set()
    assert got.error is not None and "within 0.2s" in got.error
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("canary", "stable", "phase", "value"),
    [
        (0.30, 0.25, P.SUCCESSFUL, 1.2),
        (0.60, 0.25, P.FAILED, 2.4),
        (0.30, 0.0, P.INCONCLUSIVE, None),  # a zero baseline is no data
        (0.30, math.nan, P.INCONCLUSIVE, None),
    ],
)
def test_ratio_to_stable_divides_by_the_baseline(
    canary: float, stable: float, phase: AnalysisPhase, value: float | None
) -> None:
    heard: list[MeasurementResult] = []
    provider = Scripted({TARGET.canary: canary, TARGET.stable or "": stable})
    spec = _spec(compare="ratio_to_stable", inconclusive_limit=0)
    run_analysis(spec, provider, TARGET, None, RunOptions(FakeClock(), heard.append))
    assert heard[0].phase is phase
    assert heard[0].value == (pytest.approx(value) if value is not None else None)
    assert "canary / stable" in heard[0].condition


class Samples:
    def __init__(self, canary: list[float], stable: list[float]) -> None:
        self.by_backend = {TARGET.canary: canary, TARGET.stable: stable}

    def samples(self, backend: str, since: float, until: float) -> list[RequestSample]:
        return [RequestSample(since, d, 200) for d in self.by_backend[backend]]


@pytest.mark.parametrize(
    ("policy", "phase"),
    [("inconclusive", P.INCONCLUSIVE), ("fail", P.FAILED), ("pass", P.SUCCESSFUL)],
)
def test_no_samples_follow_the_explicit_policy(policy: str, phase: AnalysisPhase) -> None:
    spec = JudgeSpec(metrics=("latency",), on_no_data=policy)  # type: ignore[arg-type]
    assert judge_target(spec, Samples([], []), TARGET, (0, 1)).phase is phase
    assert (
        judge_target(spec, Samples([0.1] * 30, [0.1] * 30), MeasureTarget("x"), (0, 1)).phase
        is phase
    )


def test_nan_samples_are_dropped_before_judging() -> None:
    spec = JudgeSpec(metrics=("latency",), min_samples=20)
    nan_heavy = Samples([math.nan] * 50 + [0.01] * 10, [0.01] * 60)
    assert judge_target(spec, nan_heavy, TARGET, (0, 1)).verdict == "nodata"  # 10 < 20 left
    slow = Samples([math.nan] * 5 + [0.5 + i * 0.001 for i in range(40)], [0.01] * 40)
    result = judge_target(spec, slow, TARGET, (0, 1))
    assert result.verdict == "fail" and result.comparisons[0].canary_n == 40


def test_registry_picks_the_provider_from_the_metric_and_checks_it() -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    from moai_deploy.analysis.traefik import AccessLogSamples, TraefikMetricProvider

    setup = registry.ProviderSetup(
        lambda: TraefikMetricProvider(f"{nobody}/metrics"),
        lambda: AccessLogSamples(Path("/nonexistent")),
    )
    traefik = MetricSpec.model_validate({"name": "t", "success_condition": "result > 0"})
    prom = MetricSpec.model_validate(
        {
            "name": "p",
            "success_condition": "result > 0",
            "provider": {"type": "prometheus", "address": nobody, "query": "up"},
        }
    )
    both = registry.MetricsByProvider(setup, [traefik, prom])
    try:
        assert sorted(both._providers) == ["prometheus", "router"]  # the default type
        assert type(both._providers["router"]).__name__ == "TraefikMetricProvider"
        assert type(both._providers["prometheus"]).__name__ == "PrometheusMetricProvider"
    finally:
        both.close()
    assert registry.check_metric(traefik) is None
    problem = registry.check_metric(prom)
    assert problem is not None and "not reachable" in problem
