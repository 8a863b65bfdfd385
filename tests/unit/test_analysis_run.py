"""Analysis runs follow Argo's rules: every phase rule, scheduling and stopping.

The provider here is scripted and the clock is fake: they are the run's collaborators, and
faking them makes the phase rules exact and the tests instant. Real Traefik measurements are
in tests/integration/test_analysis_traefik.py.
"""

from __future__ import annotations

import threading
from typing import Any

from moai_deploy.analysis.base import (
    AnalysisPhase,
    Measurement,
    MeasureTarget,
)
from moai_deploy.analysis.run import MeasurementResult, RunOptions, run_analysis
from moai_deploy.spec.analysis import AnalysisSpec, MetricSpec

P = AnalysisPhase
TARGET = MeasureTarget("hello-production-green", "hello-production-blue")
ERR = "error"  # in a script: the provider raises


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


class ScriptedProvider:
    """Returns scripted values per metric; records what it was asked."""

    def __init__(self, clock: FakeClock, scripts: dict[str, list[Any]]) -> None:
        self.clock = clock
        self.scripts = {name: list(values) for name, values in scripts.items()}
        self.calls: list[tuple[str, float, float]] = []  # metric, time, window
        self.begins: list[float] = []

    def begin(self, target: MeasureTarget) -> None:
        assert target == TARGET
        self.begins.append(self.clock.now)

    def measure(self, metric: MetricSpec, target: MeasureTarget, window: float) -> Measurement:
        self.calls.append((metric.name, self.clock.now, window))
        script = self.scripts[metric.name]
        value = script.pop(0) if len(script) > 1 else script[0]
        if value == ERR:
            raise ConnectionError("metrics endpoint down")
        return Measurement(value, self.clock.time(), samples=100)


def analysis(*metrics: dict[str, Any], **extra: Any) -> AnalysisSpec:
    base = {"interval": "1s", "success_condition": "result >= 0.95"}
    return AnalysisSpec.model_validate({"metrics": [{**base, **m} for m in metrics], **extra})


def run(
    spec: AnalysisSpec, scripts: dict[str, list[Any]], stop_after: int | None = None
) -> tuple[Any, ScriptedProvider, list[MeasurementResult]]:
    clock = FakeClock()
    provider = ScriptedProvider(clock, scripts)
    seen: list[MeasurementResult] = []
    stop = threading.Event()

    def listen(result: MeasurementResult) -> None:
        seen.append(result)
        if stop_after is not None and len(seen) >= stop_after:
            stop.set()

    result = run_analysis(spec, provider, TARGET, stop, RunOptions(clock, listen))
    return result, provider, seen


def test_count_reached_without_failures_is_successful_measured_each_interval() -> None:
    result, provider, seen = run(analysis({"name": "ok", "count": 3}), {"ok": [0.99]})
    assert result.phase is P.SUCCESSFUL and not result.stopped
    assert provider.begins == [0.0]  # baseline first; each window then spans one interval
    assert provider.calls == [("ok", 1.0, 1.0), ("ok", 2.0, 1.0), ("ok", 3.0, 1.0)]
    assert [m.phase for m in seen] == [P.SUCCESSFUL] * 3
    assert seen[0].value == 0.99 and seen[0].at == 1_700_000_001.0 and seen[0].samples == 100
    assert result.metrics[0].count == 3 and result.metrics[0].successful == 3


def test_fails_once_failures_exceed_the_failure_limit() -> None:
    spec = analysis({"name": "ok", "count": 10, "failure_limit": 3})
    result, _, seen = run(spec, {"ok": [0.5, 0.99, 0.5, 0.5, 0.99, 0.5, 0.99]})
    # the 4th failure is the 6th measurement: the run ends right there
    assert result.phase is P.FAILED
    assert len(seen) == 6 and seen[-1].phase is P.FAILED
    assert result.metrics[0].failed == 4
    assert "ok failed" in result.message and "not (result >= 0.95)" in result.message


def test_failure_limit_zero_fails_at_the_first_failed_measurement() -> None:
    result, _, seen = run(analysis({"name": "ok"}), {"ok": [0.99, 0.2, 0.99]})
    assert result.phase is P.FAILED and len(seen) == 2


def test_failure_condition_is_checked_before_success_condition() -> None:
    spec = analysis(
        {"name": "lat", "failure_condition": "result > 5", "success_condition": "result >= 0"}
    )
    result, _, seen = run(spec, {"lat": [10.0]})
    assert result.phase is P.FAILED and seen[0].message == "10: result > 5"


def test_only_a_failure_condition_means_not_failed_is_successful() -> None:
    spec = AnalysisSpec.model_validate(
        {
            "metrics": [
                {"name": "e", "interval": 1, "count": 2, "failure_condition": "result > 0.05"}
            ]
        }
    )
    result, _, seen = run(spec, {"e": [0.01]})
    assert result.phase is P.SUCCESSFUL and [m.phase for m in seen] == [P.SUCCESSFUL] * 2


def test_between_the_conditions_is_inconclusive_and_pauses() -> None:
    spec = analysis(
        {
            "name": "sr",
            "count": 5,
            "success_condition": "result >= 0.99",
            "failure_condition": "result < 0.9",
        }
    )
    result, _, seen = run(spec, {"sr": [0.995, 0.95, 0.995]})
    assert result.phase is P.INCONCLUSIVE  # inconclusive_limit 0: the first one decides
    assert [m.phase for m in seen] == [P.SUCCESSFUL, P.INCONCLUSIVE]
    assert "between the conditions" in result.message


def test_no_data_is_inconclusive_never_successful() -> None:
    result, _, seen = run(analysis({"name": "sr", "count": 3}), {"sr": [None]})
    assert result.phase is P.INCONCLUSIVE
    assert seen[0].value is None and seen[0].message == "no data in the window"
    nan, _, _ = run(analysis({"name": "sr", "count": 3}), {"sr": [float("nan")]})
    assert nan.phase is P.INCONCLUSIVE


def test_inconclusive_limit_tolerates_some_windows_without_data() -> None:
    spec = analysis({"name": "sr", "count": 5, "inconclusive_limit": 2})
    ok, _, seen = run(spec, {"sr": [None, 0.99, None, 0.99, 0.99]})
    assert ok.phase is P.SUCCESSFUL and len(seen) == 5
    over, _, seen = run(spec, {"sr": [None, 0.99, None, None, 0.99]})
    assert over.phase is P.INCONCLUSIVE and len(seen) == 4


def test_a_final_tally_without_enough_successes_is_inconclusive() -> None:
    # every measurement failed, but within the limit: nothing says the canary is good
    failing, _, _ = run(analysis({"name": "sr", "count": 3, "failure_limit": 3}), {"sr": [0.1]})
    assert failing.phase is P.INCONCLUSIVE
    mixed = analysis({"name": "sr", "count": 4, "failure_limit": 2, "inconclusive_limit": 2})
    tie, _, _ = run(mixed, {"sr": [None, 0.99, None, 0.99]})
    assert tie.phase is P.INCONCLUSIVE  # 2 successful, 2 inconclusive
    won, _, _ = run(mixed, {"sr": [0.1, 0.99, None, 0.99]})
    assert won.phase is P.SUCCESSFUL  # 2 successful, 1 inconclusive, 1 failed within limit


def test_consecutive_successes_succeed_early() -> None:
    spec = analysis({"name": "sr", "failure_limit": 1, "consecutive_success_limit": 3})
    result, _, seen = run(spec, {"sr": [0.99, 0.5, 0.99, 0.99, 0.99, 0.5]})
    assert result.phase is P.SUCCESSFUL and len(seen) == 5


def test_count_reached_without_the_required_streak_is_inconclusive() -> None:
    spec = analysis({"name": "sr", "count": 4, "failure_limit": 2, "consecutive_success_limit": 3})
    result, _, seen = run(spec, {"sr": [0.99, 0.5, 0.99, 0.99]})
    assert result.phase is P.INCONCLUSIVE and len(seen) == 4


def test_errors_are_counted_apart_and_only_consecutive_ones_end_in_error() -> None:
    spec = analysis({"name": "sr", "count": 3})
    result, _, seen = run(spec, {"sr": [ERR, 0.99, ERR, ERR, ERR, ERR, 0.99, 0.99]})
    # 4 errors in a row is the default limit: tolerated; errors do not count toward `count`
    assert result.phase is P.SUCCESSFUL
    assert len(seen) == 8 and result.metrics[0].errors == 5 and result.metrics[0].count == 3
    assert "ConnectionError" in seen[0].message
    broken, _, seen = run(spec, {"sr": [ERR]})
    assert broken.phase is P.ERROR and len(seen) == 5  # the 5th in a row is one too many
    strict, _, seen = run(analysis({"name": "sr", "consecutive_error_limit": 0}), {"sr": [ERR]})
    assert strict.phase is P.ERROR and len(seen) == 1


def test_dry_run_metrics_are_measured_and_reported_but_never_decide() -> None:
    spec = analysis({"name": "shadow", "dry_run": True}, {"name": "sr", "count": 3})
    result, _, seen = run(spec, {"shadow": [0.1], "sr": [0.99]})
    assert result.phase is P.SUCCESSFUL
    shadow = [m for m in seen if m.metric == "shadow"]
    assert shadow[0].phase is P.FAILED and shadow[0].dry_run  # recorded as what it was
    by_name = {m.name: m for m in result.metrics}
    assert by_name["shadow"].phase is P.FAILED and by_name["shadow"].dry_run
    only_dry, _, seen = run(
        analysis({"name": "shadow", "dry_run": True, "count": 2}), {"shadow": [0.1]}
    )
    assert only_dry.phase is P.SUCCESSFUL and len(seen) == 1  # it completed (failed) at once


def test_stop_ends_an_open_ended_run_as_argo_terminates_it() -> None:
    result, provider, seen = run(analysis({"name": "sr"}), {"sr": [0.99]}, stop_after=4)
    assert result.stopped and result.phase is P.SUCCESSFUL
    assert len(provider.calls) == 4 and len(seen) == 4


def test_initial_delay_and_intervals_schedule_each_metric() -> None:
    spec = analysis(
        {"name": "fast", "count": 4},
        {"name": "slow", "interval": "3s", "initial_delay": "2s", "count": 2},
    )
    result, provider, _ = run(spec, {"fast": [0.99], "slow": [0.99]})
    assert result.phase is P.SUCCESSFUL
    assert provider.begins == [0.0, 2.0]
    assert [(t, w) for name, t, w in provider.calls if name == "fast"] == [
        (1.0, 1.0),
        (2.0, 1.0),
        (3.0, 1.0),
        (4.0, 1.0),
    ]
    assert [(t, w) for name, t, w in provider.calls if name == "slow"] == [(5.0, 3.0), (8.0, 3.0)]


def test_a_deciding_failure_ends_the_run_before_other_due_metrics_are_measured() -> None:
    result, provider, _ = run(analysis({"name": "a"}, {"name": "b"}), {"a": [0.1], "b": [0.99]})
    assert result.phase is P.FAILED
    assert [name for name, _, _ in provider.calls] == ["a"]
    assert result.message == "a failed (0.1: not (result >= 0.95))"
