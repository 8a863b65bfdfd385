"""Background analyses (verdict promptness, stop, crash) and the judge inside a run.

The scripted provider and fake clock are the run's collaborators, faked so the rules are
exact; FlipProvider runs on real time to measure how promptly a failure is reported.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from moai_deploy.analysis.background import BackgroundAnalysis
from moai_deploy.analysis.base import AnalysisPhase, Measurement, MeasureTarget, RequestSample
from moai_deploy.analysis.run import MeasurementResult, RunOptions, run_analysis
from moai_deploy.spec.analysis import AnalysisSpec, MetricSpec

P = AnalysisPhase
TARGET = MeasureTarget("hello-production-green", "hello-production-blue")


class FakeClock:
    """Time moves only when the run waits."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return 1_700_000_000.0 + self.now

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        if not stop.is_set():
            self.now += max(0.0, seconds)
        return stop.is_set()


class ConstantProvider:
    """Always measures `value`."""

    def __init__(self, value: float) -> None:
        self.value = value

    def begin(self, target: MeasureTarget) -> None:
        pass

    def measure(self, metric: MetricSpec, target: MeasureTarget, window: float) -> Measurement:
        return Measurement(self.value, time.time())


def analysis(*metrics: dict[str, Any], **extra: Any) -> AnalysisSpec:
    base = {"interval": "1s", "success_condition": "result >= 0.95"}
    return AnalysisSpec.model_validate({"metrics": [{**base, **m} for m in metrics], **extra})


class WindowSamples:
    def __init__(self, canary_status: int) -> None:
        self.status = canary_status
        self.asked: list[tuple[str, float, float]] = []

    def samples(self, backend: str, since: float, until: float) -> list[RequestSample]:
        self.asked.append((backend, since, until))
        status = self.status if backend == TARGET.canary else 200
        return [RequestSample(since + i * 0.01, 0.01 + (i % 7) * 0.001, status) for i in range(50)]


@pytest.mark.parametrize(("status", "phase"), [(200, P.SUCCESSFUL), (503, P.FAILED)])
def test_the_judge_decides_once_the_metrics_succeeded(status: int, phase: AnalysisPhase) -> None:
    spec = analysis({"name": "sr", "count": 2}, judge={"metrics": ["errors"]})
    clock = FakeClock()
    source = WindowSamples(status)
    result = run_analysis(
        spec,
        ConstantProvider(0.99),
        TARGET,
        None,
        RunOptions(clock, samples=source),
    )
    assert result.phase is phase and result.judge is not None
    assert source.asked == [
        (TARGET.canary, 1_700_000_000.0, 1_700_000_002.0),
        (TARGET.stable, 1_700_000_000.0, 1_700_000_002.0),
    ]
    assert result.message.startswith("judge: ")


def test_a_judge_without_a_sample_source_ends_in_error_without_raising() -> None:
    spec = analysis({"name": "sr", "count": 2}, judge={"consecutive_error_limit": 1})
    heard: list[MeasurementResult] = []
    result = run_analysis(
        spec, ConstantProvider(1.0), TARGET, None, RunOptions(FakeClock(), heard.append)
    )
    assert result.phase is P.ERROR and "sample source" in result.message
    judged = [m for m in heard if m.metric == "judge"]
    assert [m.phase for m in judged] == [P.ERROR, P.ERROR]  # retried, then over the limit


class FlipProvider:
    """Real-time provider: healthy until `flip_at`, then failing."""

    def __init__(self, flip_at: float) -> None:
        self.flip_at = flip_at
        self.first_bad: float | None = None

    def begin(self, target: MeasureTarget) -> None:
        pass

    def measure(self, metric: MetricSpec, target: MeasureTarget, window: float) -> Measurement:
        now = time.monotonic()
        if now < self.flip_at:
            return Measurement(0.99, time.time())
        self.first_bad = self.first_bad or now
        return Measurement(0.5, time.time())


def test_background_analysis_reports_a_failure_within_one_interval() -> None:
    interval = 0.1
    provider = FlipProvider(time.monotonic() + 0.35)
    spec = analysis({"name": "sr", "interval": interval, "failure_limit": 1})
    background = BackgroundAnalysis(spec, provider, TARGET)
    background.start()
    try:
        assert background.verdict().phase is P.RUNNING
        while background.verdict().phase is P.RUNNING:
            time.sleep(0.005)
        noticed = time.monotonic()
    finally:
        final = background.stop()
    assert final.phase is P.FAILED and background.wait(0)
    assert provider.first_bad is not None
    # failure_limit 1: the second failing measurement decides, one interval after the first
    assert noticed - provider.first_bad < 2 * interval + 0.05


def test_background_analysis_stops_on_request_and_reports_a_crash() -> None:
    clock = FakeClock()
    spec = analysis({"name": "sr"})
    background = BackgroundAnalysis(spec, FlipProvider(time.monotonic() + 60), TARGET)
    background.start()
    time.sleep(0.05)
    stopped = background.stop()
    assert stopped.stopped and stopped.phase is P.SUCCESSFUL

    def explode(result: MeasurementResult) -> None:
        raise RuntimeError("ledger unavailable")

    crashing = BackgroundAnalysis(spec, ConstantProvider(0.99), TARGET, RunOptions(clock, explode))
    crashing.start()
    assert crashing.wait(5)
    verdict = crashing.verdict()
    assert verdict.phase is P.ERROR and "ledger unavailable" in verdict.message
