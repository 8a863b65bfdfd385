"""Mann-Whitney U against reference values, and the Kayenta-style score and verdicts."""

from __future__ import annotations

import random

import pytest

from moai_deploy.analysis.base import AnalysisPhase, MeasureTarget, RequestSample
from moai_deploy.analysis.judge import compare, judge_target, mann_whitney_u, score
from moai_deploy.spec.analysis import JudgeSpec

# (x, y, U of x, two-sided p): computed with scipy 1.x
# `mannwhitneyu(x, y, alternative="two-sided", method="asymptotic")`.
REFERENCE = [
    ([19, 22, 16, 29, 24], [20, 11, 17, 12], 17.0, 0.11134688653314041),
    ([1, 2, 2, 3, 3, 3, 4, 5], [2, 3, 4, 4, 5, 5, 6, 7, 7], 13.5, 0.03175895714806371),
    ([0] * 70 + [1] * 30, [0] * 98 + [1] * 2, 6400.0, 7.237426855253515e-08),
    (
        [0.1 * i for i in range(1, 31)],
        [0.1 * i + 0.8 for i in range(1, 26)],
        243.0,
        0.02617819808394497,
    ),
]


@pytest.mark.parametrize(("x", "y", "u", "p"), REFERENCE)
def test_mann_whitney_matches_reference_values(
    x: list[float], y: list[float], u: float, p: float
) -> None:
    result = mann_whitney_u(x, y)
    assert result.u == u
    assert result.p_value == pytest.approx(p, rel=1e-9)


def test_mann_whitney_is_symmetric_and_handles_all_equal() -> None:
    x, y = [3.0, 1.0, 4.0, 1.0, 5.0], [9.0, 2.0, 6.0]
    assert mann_whitney_u(x, y).p_value == pytest.approx(mann_whitney_u(y, x).p_value)
    assert mann_whitney_u(x, y).u + mann_whitney_u(y, x).u == len(x) * len(y)
    assert mann_whitney_u([1.0] * 5, [1.0] * 7).p_value == 1.0
    with pytest.raises(ValueError, match="both sides"):
        mann_whitney_u([], [1.0])


SPEC = JudgeSpec()


def _latencies(rng: random.Random, n: int, base: float) -> list[float]:
    return [base + rng.expovariate(1 / 0.02) for _ in range(n)]


def test_a_much_slower_canary_is_high_and_fails() -> None:
    rng = random.Random(7)
    slow = compare("latency", _latencies(rng, 200, 0.8), _latencies(rng, 200, 0.01), SPEC)
    assert slow.classification == "high"
    assert slow.p_value is not None and slow.p_value < 1e-6
    result = score([slow], SPEC)
    assert (result.score, result.verdict, result.phase) == (0.0, "fail", AnalysisPhase.FAILED)


def test_same_distribution_passes_and_faster_is_low_but_fine() -> None:
    rng = random.Random(11)
    same = compare("latency", _latencies(rng, 300, 0.01), _latencies(rng, 300, 0.01), SPEC)
    assert same.classification == "pass"
    faster = compare("latency", _latencies(rng, 200, 0.001), _latencies(rng, 200, 0.1), SPEC)
    assert faster.classification == "low"
    assert score([same, faster], SPEC).verdict == "pass"


def test_a_significant_but_small_increase_is_within_tolerance() -> None:
    rng = random.Random(3)
    stable = _latencies(rng, 2000, 0.1)
    canary = [v * 1.1 for v in _latencies(rng, 2000, 0.1)]  # 10 % slower: significant, small
    result = compare("latency", canary, stable, SPEC)
    assert result.p_value is not None and result.p_value < 0.05
    assert result.classification == "pass"


def test_too_few_samples_are_no_data_and_inconclusive() -> None:
    few = compare("latency", [0.1] * 5, [0.1] * 500, SPEC)
    assert few.classification == "nodata"
    result = score([few], SPEC)
    assert (result.score, result.verdict, result.phase) == (
        None,
        "nodata",
        AnalysisPhase.INCONCLUSIVE,
    )


def test_score_thresholds_give_pass_marginal_fail() -> None:
    rng = random.Random(5)
    good = compare("latency", _latencies(rng, 100, 0.01), _latencies(rng, 100, 0.01), SPEC)
    bad = compare("latency", _latencies(rng, 100, 0.9), _latencies(rng, 100, 0.01), SPEC)
    assert score([good, good, good, bad], SPEC).score == 75.0
    assert score([good, good, good, bad], SPEC).verdict == "marginal"
    assert score([good, bad], SPEC).verdict == "fail"
    lenient = JudgeSpec(pass_score=50, marginal_score=25)
    assert score([good, bad], lenient).verdict == "pass"


class ListSamples:
    """A sample source over fixed lists (the judge's collaborator; the access log reader
    is tested against real files and a real Traefik elsewhere)."""

    def __init__(self, samples: dict[str, list[RequestSample]]) -> None:
        self._samples = samples

    def samples(self, backend: str, since: float, until: float) -> list[RequestSample]:
        return [s for s in self._samples.get(backend, []) if since <= s.at < until]


def test_judge_target_compares_latency_and_errors_per_version_in_the_window() -> None:
    rng = random.Random(1)
    stable = [
        RequestSample(100 + i * 0.01, d, 200) for i, d in enumerate(_latencies(rng, 200, 0.01))
    ]
    canary = [
        RequestSample(100 + i * 0.01, d, 500 if i % 10 < 3 else 200)
        for i, d in enumerate(_latencies(rng, 200, 0.01))
    ]
    outside = [RequestSample(50.0, 5.0, 500)] * 100  # before the window: ignored
    source = ListSamples({"green": canary + outside, "blue": stable})
    result = judge_target(SPEC, source, MeasureTarget("green", "blue"), (100.0, 200.0))
    by_name = {c.name: c for c in result.comparisons}
    assert by_name["latency"].classification == "pass"
    assert by_name["errors"].classification == "high"
    assert by_name["errors"].canary_mean == pytest.approx(0.3)
    assert (by_name["latency"].canary_n, by_name["latency"].stable_n) == (200, 200)
    assert (result.score, result.verdict) == (50.0, "fail")
    assert "errors high" in result.summary
    assert judge_target(SPEC, source, MeasureTarget("green"), (100.0, 200.0)).verdict == "nodata"
