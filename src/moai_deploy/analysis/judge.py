"""Statistical canary judge in Kayenta's manner: Mann-Whitney U per metric, a 0-100 score.

Each judged metric (request latency, 5xx as 0/1) compares the canary's samples with the
stable version's over the same window. A metric fails ("high") when the canary is
significantly larger (two-sided test at `confidence`) and its mean exceeds stable's by more
than `tolerance`. The score is the share of judged metrics that pass, as in Kayenta; it is
then pass / marginal / fail against `pass_score` / `marginal_score`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from moai_deploy.analysis.base import AnalysisPhase, MeasureTarget, SampleSource
from moai_deploy.spec.judge import JudgeSpec

Classification = Literal["pass", "high", "low", "nodata"]
Verdict = Literal["pass", "marginal", "fail", "nodata"]
_PHASES: dict[Verdict, AnalysisPhase] = {
    "pass": AnalysisPhase.SUCCESSFUL,
    "marginal": AnalysisPhase.INCONCLUSIVE,  # Kayenta's marginal: a human decides
    "fail": AnalysisPhase.FAILED,
    "nodata": AnalysisPhase.INCONCLUSIVE,
}


_NO_DATA = {
    "inconclusive": AnalysisPhase.INCONCLUSIVE,
    "fail": AnalysisPhase.FAILED,
    "pass": AnalysisPhase.SUCCESSFUL,
}


def _finite(values: Sequence[float]) -> list[float]:
    """NaN and infinite samples carry no evidence: dropped before ranking (Kayenta's NaN
    failure mode: one NaN poisons every rank comparison)."""
    return [v for v in values if math.isfinite(v)]


@dataclass(frozen=True)
class MannWhitney:
    """Mann-Whitney U of x against y, two-sided, normal approximation with tie correction."""

    u: float  # U of x: how often an x exceeds a y (ties count half)
    z: float
    p_value: float


def _ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties getting the mean of the ranks they span."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _tie_term(values: Sequence[float]) -> float:
    counts: dict[float, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return float(sum(t**3 - t for t in counts.values()))


def mann_whitney_u(x: Sequence[float], y: Sequence[float]) -> MannWhitney:
    """Two-sided test with continuity correction (scipy's `method='asymptotic'`)."""
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        raise ValueError("Mann-Whitney U needs samples on both sides")
    combined = [*x, *y]
    n = n1 + n2
    u1 = sum(_ranks(combined)[:n1]) - n1 * (n1 + 1) / 2
    mean = n1 * n2 / 2
    variance = n1 * n2 / 12 * ((n + 1) - _tie_term(combined) / (n * (n - 1)))
    if variance <= 0:  # every value equal: no evidence of any difference
        return MannWhitney(u1, 0.0, 1.0)
    u = max(u1, n1 * n2 - u1)
    z = (u - mean - 0.5) / math.sqrt(variance)
    p_value = min(1.0, max(0.0, math.erfc(z / math.sqrt(2))))  # 2 * survival(z)
    return MannWhitney(u1, z, p_value)


@dataclass(frozen=True)
class MetricComparison:
    """One judged metric: canary vs stable."""

    name: str
    classification: Classification
    canary_n: int
    stable_n: int
    canary_mean: float | None = None
    stable_mean: float | None = None
    p_value: float | None = None


@dataclass(frozen=True)
class JudgeResult:
    """The judge's score and verdict, with each metric's comparison."""

    score: float | None  # 0-100; None when nothing could be judged
    verdict: Verdict
    comparisons: tuple[MetricComparison, ...]
    no_data: AnalysisPhase = AnalysisPhase.INCONCLUSIVE  # the spec's on_no_data policy

    @property
    def phase(self) -> AnalysisPhase:
        return self.no_data if self.verdict == "nodata" else _PHASES[self.verdict]

    @property
    def summary(self) -> str:
        score = "no score" if self.score is None else f"score {self.score:.0f}"
        parts = ", ".join(f"{c.name} {c.classification}" for c in self.comparisons)
        return f"judge: {self.verdict} ({score}; {parts})"


def compare(
    name: str, canary: Sequence[float], stable: Sequence[float], spec: JudgeSpec
) -> MetricComparison:
    """Classify one metric: high (significantly and materially worse), low, or pass."""
    if min(len(canary), len(stable)) < spec.min_samples:
        return MetricComparison(name, "nodata", len(canary), len(stable))
    test = mann_whitney_u(canary, stable)
    canary_mean, stable_mean = sum(canary) / len(canary), sum(stable) / len(stable)
    significant = test.p_value < 1 - spec.confidence
    larger = test.u > len(canary) * len(stable) / 2
    material = canary_mean > stable_mean * (1 + spec.tolerance) if stable_mean else canary_mean > 0
    classification: Classification = "pass"
    if significant and larger and material:
        classification = "high"
    elif significant and not larger:
        classification = "low"  # the canary is better: fine for latency and errors
    return MetricComparison(
        name, classification, len(canary), len(stable), canary_mean, stable_mean, test.p_value
    )


def score(comparisons: Sequence[MetricComparison], spec: JudgeSpec) -> JudgeResult:
    """Kayenta's score: the share of judged metrics that are not high, as 0-100."""
    judged = [c for c in comparisons if c.classification != "nodata"]
    if not judged:
        return JudgeResult(None, "nodata", tuple(comparisons), _NO_DATA[spec.on_no_data])
    value = 100.0 * sum(c.classification != "high" for c in judged) / len(judged)
    verdict: Verdict = "fail"
    if value >= spec.pass_score:
        verdict = "pass"
    elif value >= spec.marginal_score:
        verdict = "marginal"
    return JudgeResult(value, verdict, tuple(comparisons), _NO_DATA[spec.on_no_data])


def judge_target(
    spec: JudgeSpec, source: SampleSource, target: MeasureTarget, window: tuple[float, float]
) -> JudgeResult:
    """Judge the canary against stable over `window` (wall-clock since, until)."""
    if target.stable is None:
        return JudgeResult(None, "nodata", (), _NO_DATA[spec.on_no_data])
    canary = source.samples(target.canary, *window)
    stable = source.samples(target.stable, *window)
    comparisons = []
    for name in spec.metrics:
        if name == "latency":
            c, s = [r.duration for r in canary], [r.duration for r in stable]
        else:
            c = [float(r.status >= 500) for r in canary]
            s = [float(r.status >= 500) for r in stable]
        comparisons.append(compare(name, _finite(c), _finite(s), spec))
    return score(comparisons, spec)
