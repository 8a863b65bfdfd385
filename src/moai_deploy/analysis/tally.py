"""Argo's rules, as pure functions: judge one measurement, assess a metric, assess a run."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from moai_deploy.analysis.base import AnalysisPhase, Measurement
from moai_deploy.analysis.conditions import Condition, is_number, parse_condition
from moai_deploy.spec.analysis import MetricSpec

# Which phase wins when metrics disagree (Argo's priority order).
_SEVERITY = {
    AnalysisPhase.SUCCESSFUL: 0,
    AnalysisPhase.RUNNING: 1,
    AnalysisPhase.INCONCLUSIVE: 2,
    AnalysisPhase.ERROR: 3,
    AnalysisPhase.FAILED: 4,
}


@dataclass(frozen=True)
class Judgement:
    """The verdict on one measurement, with a reason a human can read."""

    phase: AnalysisPhase
    reason: str


class MeasurementJudge:
    """A metric's conditions, parsed once."""

    def __init__(self, metric: MetricSpec) -> None:
        self._success = _parse(metric.success_condition)
        self._failure = _parse(metric.failure_condition)

    def judge(self, measurement: Measurement) -> Judgement:
        """Failure first, then success; neither = inconclusive (Argo's evaluateResult)."""
        if measurement.error is not None:
            return Judgement(AnalysisPhase.ERROR, measurement.error)
        value = measurement.value
        if value is None or not is_number(value):
            return Judgement(AnalysisPhase.INCONCLUSIVE, "no data in the window")
        failed = self._failure.evaluate(value) if self._failure else None
        succeeded = self._success.evaluate(value) if self._success else None
        if failed is None:
            failed = not succeeded  # only a success condition: false means failed
        if succeeded is None:
            succeeded = not failed  # only a failure condition: false means successful
        if failed:
            why = self._failure.text if self._failure else f"not ({_text(self._success)})"
            return Judgement(AnalysisPhase.FAILED, f"{value:g}: {why}")
        if succeeded:
            return Judgement(AnalysisPhase.SUCCESSFUL, f"{value:g}: {_text(self._success)}")
        return Judgement(AnalysisPhase.INCONCLUSIVE, f"{value:g}: between the conditions")


def _parse(text: str | None) -> Condition | None:
    return parse_condition(text) if text is not None else None


def _text(condition: Condition | None) -> str:
    return condition.text if condition else "no failure condition"


@dataclass
class MetricTally:
    """A metric's counters and the phase they add up to."""

    metric: MetricSpec
    count: int = 0  # measurements that were not errors (Argo counts errors apart)
    successful: int = 0
    failed: int = 0
    inconclusive: int = 0
    errors: int = 0
    consecutive_errors: int = 0
    consecutive_successes: int = 0

    def add(self, phase: AnalysisPhase) -> None:
        """Count one measurement's phase."""
        if phase is AnalysisPhase.ERROR:
            self.errors += 1
            self.consecutive_errors += 1
            return
        self.count += 1
        self.consecutive_errors = 0
        if phase is AnalysisPhase.SUCCESSFUL:
            self.successful += 1
            self.consecutive_successes += 1
            return
        self.consecutive_successes = 0
        if phase is AnalysisPhase.FAILED:
            self.failed += 1
        else:
            self.inconclusive += 1

    def phase(self) -> AnalysisPhase:
        """The metric's phase by Argo's rules (limits first, then streak or count)."""
        limit = self._limit_phase()
        if limit is not None:
            return limit
        streak = self.metric.consecutive_success_limit
        if streak is not None and self.consecutive_successes >= streak:
            return AnalysisPhase.SUCCESSFUL
        if self.metric.count is None or self.count < self.metric.count:
            return AnalysisPhase.RUNNING
        # The final tally: a required streak never reached, or no more successes than
        # inconclusive measurements, is not enough to promote: a human decides.
        if streak is not None or self.successful <= self.inconclusive:
            return AnalysisPhase.INCONCLUSIVE
        return AnalysisPhase.SUCCESSFUL

    def _limit_phase(self) -> AnalysisPhase | None:
        metric = self.metric
        if self.failed > metric.failure_limit:
            return AnalysisPhase.FAILED
        if self.inconclusive > metric.inconclusive_limit:
            return AnalysisPhase.INCONCLUSIVE
        if self.consecutive_errors > metric.consecutive_error_limit:
            return AnalysisPhase.ERROR
        return None


def run_phase(tallies: Iterable[MetricTally]) -> AnalysisPhase:
    """A run's phase: a deciding metric's failure, error or inconclusive ends it at once;
    it succeeds once every deciding metric has. Dry-run metrics never decide; a run of
    dry-run metrics only succeeds once they have all completed."""
    tallies = list(tallies)
    deciding = [t for t in tallies if not t.metric.dry_run]
    if not deciding:
        done = all(t.phase().completed for t in tallies)
        return AnalysisPhase.SUCCESSFUL if done else AnalysisPhase.RUNNING
    return worst(t.phase() for t in deciding)


def worst(phases: Iterable[AnalysisPhase]) -> AnalysisPhase:
    """The most severe of `phases` (successful when empty)."""
    return max(phases, key=_SEVERITY.__getitem__, default=AnalysisPhase.SUCCESSFUL)
