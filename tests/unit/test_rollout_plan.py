"""Strategies are pure plans: the steps for every strategy and situation, as data."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from moai_deploy.rollout.plan import Situation, plan
from moai_deploy.rollout.state import plan_digest
from moai_deploy.spec.strategies import (
    BlueGreenStrategy,
    CanaryStrategy,
    RollingStrategy,
)

START = ["build", "start", "wait_ready", "smoke"]
ANALYSIS = {"metrics": [{"template": "success-rate"}]}

SEED_CANARY = CanaryStrategy.model_validate(
    {
        "type": "canary",
        "steps": [
            {"set_weight": 10},
            {"pause": {"duration": "5m"}},
            {"set_weight": 25},
            {"pause": {"duration": "5m"}},
            {"set_weight": 50},
            {"pause": {"duration": "10m"}},
            {"set_weight": 75},
            {"pause": {"duration": "5m"}},
        ],
    }
)


def kinds(steps: list) -> list[str]:  # type: ignore[type-arg]
    return [s.kind for s in steps]


def test_first_release_just_switches_whatever_the_strategy() -> None:
    for strategy in (BlueGreenStrategy(), SEED_CANARY, RollingStrategy()):
        steps = plan(strategy, Situation(replicas=3, has_stable=False))
        assert kinds(steps) == [*START, "set_weight", "promote", "scale_down"]
        assert steps[4].weight == 100


def test_seed_canary_walks_10_25_50_75_then_full_with_pauses() -> None:
    steps = plan(SEED_CANARY, Situation(replicas=3, has_stable=True))
    weights = [s.weight for s in steps if s.kind == "set_weight"]
    pauses = [s.duration for s in steps if s.kind == "pause"]
    assert weights == [10, 25, 50, 75, 100]
    assert pauses == [300, 300, 600, 300]
    assert kinds(steps)[-2:] == ["promote", "scale_down"]


def test_canary_shorthand_generates_weight_steps() -> None:
    strategy = CanaryStrategy(step_weight=30, max_weight=90, step_pause=2)
    steps = plan(strategy, Situation(replicas=1, has_stable=True))
    assert [s.weight for s in steps if s.kind == "set_weight"] == [30, 60, 90, 100]
    assert [s.duration for s in steps if s.kind == "pause"] == [2, 2, 2]


def test_canary_rejects_steps_and_shorthand_together() -> None:
    with pytest.raises(ValidationError, match="either `steps` or `step_weight`"):
        CanaryStrategy.model_validate({"steps": [{"set_weight": 10}], "step_weight": 10})


def test_rollback_in_window_skips_pauses_and_analysis() -> None:
    strategy = CanaryStrategy.model_validate(
        {"steps": [{"set_weight": 20}, {"pause": {}}, {"analysis": ANALYSIS}, {"set_weight": 60}]}
    )
    normal = plan(strategy, Situation(1, has_stable=True))
    fast = plan(strategy, Situation(1, has_stable=True, skip_analysis=True))
    assert "pause" in kinds(normal) and "analysis" in kinds(normal)
    assert "pause" not in kinds(fast) and "analysis" not in kinds(fast)
    assert plan_digest(normal) != plan_digest(fast)


def test_indefinite_pause_has_no_duration() -> None:
    strategy = CanaryStrategy.model_validate({"steps": [{"set_weight": 50}, {"pause": {}}]})
    pause = next(s for s in plan(strategy, Situation(1, True)) if s.kind == "pause")
    assert pause.duration is None


def test_blue_green_auto_promote_variants() -> None:
    manual = plan(BlueGreenStrategy(auto_promote=False), Situation(2, True))
    timed = plan(BlueGreenStrategy(auto_promote="30s"), Situation(2, True))
    auto = plan(BlueGreenStrategy(), Situation(2, True))
    assert [s.duration for s in manual if s.kind == "pause"] == [None]
    assert [s.duration for s in timed if s.kind == "pause"] == [30]
    assert "pause" not in kinds(auto)
    assert kinds(auto) == [*START, "set_weight", "promote", "scale_down"]


def test_blue_green_post_promotion_analysis_runs_before_promote() -> None:
    strategy = BlueGreenStrategy.model_validate({"post_promotion_analysis": ANALYSIS})
    assert kinds(plan(strategy, Situation(2, True)))[-4:] == [
        "set_weight",
        "analysis",
        "promote",
        "scale_down",
    ]


@pytest.mark.parametrize(
    ("replicas", "surge", "unavailable", "batches"),
    [
        (3, 2, 0, [(2, 2), (1, 1)]),
        (4, 2, 0, [(2, 2), (2, 2)]),
        (3, 0, 1, [(1, 1), (1, 1), (1, 1)]),
        (5, 1, 1, [(2, 2), (2, 2), (1, 1)]),
        (1, 2, 0, [(1, 1)]),
    ],
)
def test_rolling_batches_respect_surge_and_unavailable(
    replicas: int, surge: int, unavailable: int, batches: list[tuple[int, int]]
) -> None:
    strategy = RollingStrategy(max_surge=surge, max_unavailable=unavailable)
    steps = plan(strategy, Situation(replicas, has_stable=True))
    assert kinds(steps)[0] == "build" and kinds(steps)[-1] == "promote"
    assert [(s.start, s.drain) for s in steps if s.kind == "rolling_batch"] == batches
    assert sum(s.start for s in steps) == replicas


def test_rolling_needs_room_to_move() -> None:
    with pytest.raises(ValidationError, match="cannot both be 0"):
        RollingStrategy(max_surge=0, max_unavailable=0)


def test_blue_green_pre_promotion_analysis_runs_on_the_preview_before_the_switch() -> None:
    strategy = BlueGreenStrategy.model_validate({"pre_promotion_analysis": ANALYSIS})
    steps = plan(strategy, Situation(2, True))
    analysis = next(s for s in steps if s.kind == "analysis")
    assert analysis.preview is True
    assert kinds(steps).index("analysis") < kinds(steps).index("set_weight")


HALF_CANARY = CanaryStrategy.model_validate({"type": "canary", "steps": [{"set_weight": 50}]})


@pytest.mark.parametrize("strategy", [BlueGreenStrategy(), HALF_CANARY, RollingStrategy()])
def test_release_command_runs_once_right_after_the_build(strategy: object) -> None:
    for has_stable in (False, True):
        steps = plan(strategy, Situation(2, has_stable, release_command=True))  # type: ignore[arg-type]
        kinds = [s.kind for s in steps]
        assert kinds[:2] == ["build", "release"] and kinds.count("release") == 1
        without = plan(strategy, Situation(2, has_stable))  # type: ignore[arg-type]
        assert "release" not in [s.kind for s in without]
