"""Analysis runs: measure every metric each interval and decide, blocking or in the background.

`run_analysis` serves a canary `analysis` step (it returns the verdict); `BackgroundAnalysis`
runs the same loop in a thread for a whole rollout, and its verdict turns terminal right
after the measurement that decides it, so the engine polling it reacts within an interval.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from moai_deploy.analysis.base import (
    AnalysisPhase,
    Clock,
    Measurement,
    MeasureTarget,
    MetricProvider,
    SampleSource,
    SystemClock,
)
from moai_deploy.analysis.judge import JudgeResult, judge_target
from moai_deploy.analysis.measuring import measure_safely
from moai_deploy.analysis.tally import MeasurementJudge, MetricTally, run_phase
from moai_deploy.spec.analysis import AnalysisSpec, MetricSpec
from moai_deploy.spec.judge import JudgeSpec

JUDGE_METRIC = "judge"  # the name the statistical judge's verdict is recorded under


@dataclass(frozen=True)
class MeasurementResult:
    """One judged measurement: what the engine records in the ledger and shows live."""

    metric: str
    phase: AnalysisPhase
    value: float | None
    at: float  # wall-clock seconds since the epoch
    message: str
    samples: int = 0
    stable_samples: int = 0
    dry_run: bool = False
    condition: str = ""  # what the value was judged by, e.g. "result >= 0.95"


@dataclass(frozen=True)
class MetricResult:
    """A metric's tally so far."""

    name: str
    phase: AnalysisPhase
    dry_run: bool
    count: int
    successful: int
    failed: int
    inconclusive: int
    errors: int
    last: MeasurementResult | None


@dataclass(frozen=True)
class AnalysisResult:
    """The verdict of a run (RUNNING while a background run has not decided)."""

    phase: AnalysisPhase
    metrics: tuple[MetricResult, ...]
    message: str = ""
    judge: JudgeResult | None = None
    stopped: bool = False  # ended by the stop event before it decided by itself


@dataclass(frozen=True)
class RunOptions:
    """How a run is driven: its clock, who hears each measurement, where judge samples are."""

    clock: Clock = field(default_factory=SystemClock)
    on_measurement: Callable[[MeasurementResult], None] | None = None
    samples: SampleSource | None = None  # required when the spec has a `judge`


class _Metric:
    """A metric's schedule and tally inside one run."""

    def __init__(self, spec: MetricSpec, start: float) -> None:
        self.spec = spec
        self.judge = MeasurementJudge(spec)
        self.tally = MetricTally(spec)
        self.due = start + spec.initial_delay
        self.window_start: float | None = None  # None until its baseline is taken
        self.last: MeasurementResult | None = None

    def snapshot(self) -> MetricResult:
        t = self.tally
        return MetricResult(
            self.spec.name,
            t.phase(),
            self.spec.dry_run,
            t.count,
            t.successful,
            t.failed,
            t.inconclusive,
            t.errors,
            self.last,
        )


class AnalysisRunner:
    """One run of an AnalysisSpec against a target; `run` blocks until it decides or stops."""

    def __init__(
        self,
        spec: AnalysisSpec,
        provider: MetricProvider,
        target: MeasureTarget,
        options: RunOptions | None = None,
    ) -> None:
        self._spec = spec
        self._provider = provider
        self._target = target
        self._options = options or RunOptions()
        self._lock = threading.Lock()
        self._metrics: list[_Metric] = []
        self._stop = threading.Event()
        self._result = AnalysisResult(AnalysisPhase.RUNNING, ())

    def result(self) -> AnalysisResult:
        """The verdict so far (thread-safe)."""
        with self._lock:
            return self._result

    def run(self, stop: threading.Event | None = None) -> AnalysisResult:
        """Measure until the run decides, or until `stop` is set."""
        stop = self._stop = stop or threading.Event()
        clock = self._options.clock
        start, started_at = clock.monotonic(), clock.time()
        self._metrics = [_Metric(m, start) for m in self._spec.resolved()]
        self._publish(AnalysisPhase.RUNNING)
        while True:
            for metric in self._due(clock.monotonic()):
                self._step(metric)
                phase = run_phase(m.tally for m in self._metrics)
                if phase.completed:  # decide now, not after the other due metrics
                    return self._finish(phase, started_at)
            running = [m for m in self._metrics if m.tally.phase() is AnalysisPhase.RUNNING]
            wake = min(m.due for m in running)
            if clock.wait(wake - clock.monotonic(), stop):
                return self._publish(self._stopped_phase(), stopped=True)

    def _due(self, now: float) -> list[_Metric]:
        return [
            m for m in self._metrics if m.due <= now and m.tally.phase() is AnalysisPhase.RUNNING
        ]

    def _step(self, metric: _Metric) -> None:
        clock = self._options.clock
        now = clock.monotonic()
        if metric.window_start is None:
            error = self._begin()
            if error is None:
                metric.window_start = now
            else:
                self._record(metric, Measurement(None, clock.time(), error=error))
        else:
            measurement = self._measure(metric.spec, now - metric.window_start)
            metric.window_start = now
            self._record(metric, measurement)
        # Catch up after a slow provider rather than firing a burst of back-to-back windows.
        metric.due = max(metric.due + metric.spec.interval, clock.monotonic())

    def _begin(self) -> str | None:
        try:
            self._provider.begin(self._target)
        except Exception as exc:  # a provider bug must not kill the run: it is an error
            return f"baseline failed: {exc!r}"
        return None

    def _measure(self, metric: MetricSpec, window: float) -> Measurement:
        # Raising or hanging providers become measurement errors, counted like Argo's.
        return measure_safely(self._provider, metric, self._target, window)

    def _record(self, metric: _Metric, measurement: Measurement) -> None:
        judgement = metric.judge.judge(measurement)
        metric.tally.add(judgement.phase)
        result = MeasurementResult(
            metric.spec.name,
            judgement.phase,
            measurement.value,
            measurement.at,
            judgement.reason,
            measurement.samples,
            measurement.stable_samples,
            metric.spec.dry_run,
            conditions_text(metric.spec),
        )
        metric.last = result
        self._publish(AnalysisPhase.RUNNING)
        self._tell(result)

    def _tell(self, result: MeasurementResult) -> None:
        if self._options.on_measurement is not None:
            self._options.on_measurement(result)

    def _stopped_phase(self) -> AnalysisPhase:
        # Like Argo's terminated runs: metrics still running count as successful.
        phase = run_phase(m.tally for m in self._metrics)
        return AnalysisPhase.SUCCESSFUL if phase is AnalysisPhase.RUNNING else phase

    def _finish(self, phase: AnalysisPhase, started_at: float) -> AnalysisResult:
        judge = self._spec.judge
        if phase is not AnalysisPhase.SUCCESSFUL or judge is None:
            return self._publish(phase)
        return self._judge(judge, started_at)

    def _judge(self, spec: JudgeSpec, started_at: float) -> AnalysisResult:
        """The statistical judge over the whole run; its errors are retried each interval
        and counted against its consecutive error limit, never raised."""
        clock, errors = self._options.clock, 0
        interval = min(m.spec.interval for m in self._metrics)
        while True:
            try:
                verdict = self._judge_once(spec, (started_at, clock.time()))
            except Exception as exc:
                errors += 1
                reason = f"judge failed: {type(exc).__name__}: {exc}"
                self._tell(_judge_result(AnalysisPhase.ERROR, None, clock.time(), reason))
                if errors > spec.consecutive_error_limit:
                    return self._publish(AnalysisPhase.ERROR, message=reason)
                if clock.wait(interval, self._stop):
                    return self._publish(AnalysisPhase.SUCCESSFUL, stopped=True)
                continue
            self._tell(_judge_result(verdict.phase, verdict.score, clock.time(), verdict.summary))
            return self._publish(verdict.phase, judge=verdict)

    def _judge_once(self, spec: JudgeSpec, window: tuple[float, float]) -> JudgeResult:
        samples = self._options.samples
        if samples is None:
            raise RuntimeError("no per-request sample source (the router's access log)")
        return judge_target(spec, samples, self._target, window)

    def _publish(
        self,
        phase: AnalysisPhase,
        *,
        stopped: bool = False,
        judge: JudgeResult | None = None,
        message: str | None = None,
    ) -> AnalysisResult:
        metrics = tuple(m.snapshot() for m in self._metrics)
        text = message if message is not None else _message(phase, metrics, judge)
        result = AnalysisResult(phase, metrics, text, judge, stopped)
        with self._lock:
            self._result = result
        return result


def conditions_text(spec: MetricSpec) -> str:
    """The metric's conditions as one line, e.g. "success: result >= 0.95"."""
    parts = []
    if spec.failure_condition:
        parts.append(f"failure: {spec.failure_condition}")
    if spec.success_condition:
        parts.append(f"success: {spec.success_condition}")
    ratio = " (result = canary / stable)" if spec.compare == "ratio_to_stable" else ""
    return "; ".join(parts) + ratio


def _judge_result(
    phase: AnalysisPhase, score: float | None, at: float, message: str
) -> MeasurementResult:
    return MeasurementResult(JUDGE_METRIC, phase, score, at, message, condition="judge score")


def _message(
    phase: AnalysisPhase, metrics: tuple[MetricResult, ...], judge: JudgeResult | None
) -> str:
    if judge is not None:
        return judge.summary
    deciding = [m for m in metrics if m.phase is phase and not m.dry_run]
    if phase is AnalysisPhase.RUNNING or not deciding:
        return ""
    parts = [f"{m.name} {m.phase}" + (f" ({m.last.message})" if m.last else "") for m in deciding]
    return "; ".join(parts)


def run_analysis(
    spec: AnalysisSpec,
    provider: MetricProvider,
    target: MeasureTarget,
    stop: threading.Event | None = None,
    options: RunOptions | None = None,
) -> AnalysisResult:
    """Run `spec` against `target` until it decides (or `stop` is set); for `analysis` steps."""
    return AnalysisRunner(spec, provider, target, options).run(stop)
