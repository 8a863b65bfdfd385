"""Strategies as pure planning: strategy + situation -> the ordered steps of a release.

The engine executes these steps through the runtime and router protocols; nothing here
touches a process, a file or the network, so every plan is testable as data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from moai_deploy.spec.analysis import AnalysisSpec
from moai_deploy.spec.strategies import (
    AnalysisStep,
    AnyStrategy,
    BlueGreenStrategy,
    CanaryStrategy,
    PauseStep,
    RollingStrategy,
    SetWeightStep,
)


@dataclass(frozen=True)
class Step:
    """One step of a release plan; `kind` is what the ledger records."""

    kind: str
    description: str
    weight: int | None = None  # set_weight: the new version's share of the traffic
    duration: float | None = None  # pause: seconds, None = until promoted
    analysis: AnalysisSpec | None = None  # analysis steps
    start: int = 0  # rolling batch: new instances to start
    drain: int = 0  # rolling batch: old instances to drain and stop
    preview: bool = False  # analysis of the new version on its preview route, before traffic
    purpose: str = "step"  # analysis: step, pre_promotion or post_promotion (its ledger record)
    background: AnalysisSpec | None = None  # set_weight: the canary's background analysis
    unavailable: int = 0  # rolling batch: old instances drained before the new are ready
    pre_stop_delay: float = 0.0  # rolling batch: unrouted this long before being stopped


@dataclass(frozen=True)
class Situation:
    """What the plan depends on besides the strategy."""

    replicas: int
    has_stable: bool  # something is live now (else: no traffic to shift, just switch)
    skip_analysis: bool = False  # a rollback inside the rollback window
    approvals: int = 0  # approvals the release needs before it starts
    release_command: bool = False  # run the spec's release command before any instance


def plan(strategy: AnyStrategy, situation: Situation) -> list[Step]:
    """The steps of a release with `strategy` in `situation`, in order."""
    steps = _plan(strategy, situation)
    if situation.approvals > 0:
        wait = Step("approval", f"wait for {situation.approvals} approval(s)")
        return [wait, *steps]
    return steps


def _plan(strategy: AnyStrategy, situation: Situation) -> list[Step]:
    if isinstance(strategy, RollingStrategy) and situation.has_stable:
        return _rolling(strategy, situation)
    steps = _start(situation.replicas, situation.release_command)
    if not situation.has_stable:
        return [*steps, _weight(100), *_finish(0.0)]
    if isinstance(strategy, CanaryStrategy):
        return [
            *steps,
            *_canary(strategy, situation.skip_analysis),
            *_finish(strategy.scale_down_delay),
        ]
    if isinstance(strategy, BlueGreenStrategy):
        return [*steps, *_blue_green(strategy, situation.skip_analysis)]
    return [*steps, _weight(100), *_finish(0.0)]


def _build(release_command: bool) -> list[Step]:
    steps = [Step("build", "prepare the release's artifact")]
    if release_command:
        steps.append(Step("release", "run the release command once, before any instance"))
    return steps


def _start(replicas: int, release_command: bool) -> list[Step]:
    return [
        *_build(release_command),
        Step("start", f"start {replicas} instance(s) of the new version"),
        Step("wait_ready", "wait until every new instance is ready"),
        Step("smoke", "smoke-test the new instances directly"),
    ]


def _weight(weight: int) -> Step:
    what = "switch all traffic to the new version" if weight == 100 else f"canary at {weight}%"
    return Step("set_weight", f"{what} and verify", weight=weight)


def _finish(scale_down_delay: float) -> list[Step]:
    return [
        Step("promote", "mark the release live"),
        Step(
            "scale_down",
            f"keep the old version {scale_down_delay:g}s, then stop it",
            duration=scale_down_delay,
        ),
    ]


def _blue_green(strategy: BlueGreenStrategy, skip_analysis: bool) -> list[Step]:
    steps: list[Step] = []
    if strategy.pre_promotion_analysis is not None and not skip_analysis:
        steps.append(
            Step(
                "analysis",
                "pre-promotion analysis on the preview route",
                analysis=strategy.pre_promotion_analysis,
                preview=True,
                purpose="pre_promotion",
            )
        )
    if strategy.auto_promote is False:
        steps.append(Step("pause", "wait for `moai-deploy promote`", duration=None))
    elif strategy.auto_promote is not True and not skip_analysis:
        steps.append(
            Step(
                "pause",
                f"auto-promote after {strategy.auto_promote:g}s",
                duration=float(strategy.auto_promote),
            )
        )
    steps.append(_weight(100))
    if strategy.post_promotion_analysis is not None and not skip_analysis:
        steps.append(
            Step(
                "analysis",
                "post-promotion analysis",
                analysis=strategy.post_promotion_analysis,
                purpose="post_promotion",
            )
        )
    return [*steps, *_finish(strategy.scale_down_delay)]


def _canary(strategy: CanaryStrategy, skip_analysis: bool) -> list[Step]:
    steps: list[Step] = []
    last = 0
    background = None if skip_analysis else strategy.analysis
    for spec_step in strategy.effective_steps():
        if isinstance(spec_step, SetWeightStep):
            last = spec_step.set_weight
            steps.append(replace(_weight(last), background=background if last < 100 else None))
        elif skip_analysis:
            continue  # a rollback inside the window skips pauses and analysis
        elif isinstance(spec_step, PauseStep):
            duration = spec_step.pause.duration
            text = "until promoted" if duration is None else f"{duration:g}s"
            steps.append(Step("pause", f"pause {text}", duration=duration))
        elif isinstance(spec_step, AnalysisStep):
            names = ", ".join(m.name for m in spec_step.analysis.resolved())
            steps.append(Step("analysis", f"analysis: {names}", analysis=spec_step.analysis))
    if last != 100:
        steps.append(_weight(100))
    return steps


def _rolling(strategy: RollingStrategy, situation: Situation) -> list[Step]:
    steps = _build(situation.release_command)
    surge, unavailable = strategy.max_surge, strategy.max_unavailable
    started = drained = 0
    batches = math.ceil(situation.replicas / max(1, surge + unavailable))
    for index in range(batches):
        start = min(surge + unavailable, situation.replicas - started)
        drain = min(start, situation.replicas - drained)
        started, drained = started + start, drained + drain
        steps.append(
            Step(
                "rolling_batch",
                f"batch {index + 1}/{batches}: start {start} new, drain {drain} old",
                start=start,
                drain=drain,
                unavailable=strategy.max_unavailable,
                pre_stop_delay=strategy.pre_stop_delay,
            )
        )
    return [*steps, Step("promote", "mark the release live")]


def describe_promote(steps: list[Step], index: int, held: bool, full: bool) -> str:
    """What a promote skips and where the rollout stops next (pure; for `promote`'s output).

    `index` is the step running now; `held` says whether it is holding for a promote (a
    pause, or an analysis that was inconclusive).
    """
    if full:
        return "skips every remaining step and analysis: straight to 100%"
    later = [i for i in range(index, len(steps)) if steps[i].kind == "pause"]
    if held and index < len(steps):
        skipped: int | None = index
    else:
        skipped = later[0] if later else None
    if skipped is None:
        return "no pause left to skip: the rollout goes on to 100%"
    rest = [i for i in later if i > skipped]
    text = f"skips step {skipped + 1} of {len(steps)} ({_step_text(steps[skipped])})"
    if not rest:
        return text + "; no pause after it: the rollout goes on to 100%"
    return text + f"; next stop: step {rest[0] + 1} ({_step_text(steps[rest[0]])})"


def _step_text(step: Step) -> str:
    return step.description
