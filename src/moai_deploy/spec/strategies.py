"""Release strategies: blue-green, canary and rolling, each one section of the spec."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from moai_deploy.spec._base import Section
from moai_deploy.spec._types import Seconds, UrlPath
from moai_deploy.spec.analysis import AnalysisSpec

Weight = Annotated[int, Field(ge=0, le=100)]


class _Common(Section):
    smoke_paths: tuple[UrlPath, ...] = Field(
        default=(),
        description="Paths that must answer 2xx on every new instance before it gets traffic.",
    )
    verify_timeout: Seconds = Field(
        default=10.0, description="How long the router may take to confirm a routing change."
    )
    progress_deadline: Seconds = Field(
        default=600.0,
        description="A release that makes no progress this long (e.g. instances never "
        "become ready) is aborted.",
    )


class BlueGreenStrategy(_Common):
    """Start the idle colour, smoke-test it, switch all traffic, keep the old colour a while."""

    type: Literal["blue_green"] = "blue_green"
    scale_down_delay: Seconds = Field(
        default=30.0, description="How long the old colour keeps running after the switch."
    )
    pre_promotion_analysis: AnalysisSpec | None = Field(
        default=None,
        description="Analysis of the new colour on its preview route before the switch.",
    )
    post_promotion_analysis: AnalysisSpec | None = Field(
        default=None,
        description="Analysis after the switch; a failure switches back to the old colour.",
    )
    auto_promote: bool | Seconds = Field(
        default=True,
        description="Switch as soon as the new colour is ready (true), wait for "
        "`moai-deploy promote` (false), or switch after this many seconds.",
    )
    preview_port: Annotated[int, Field(ge=1, le=65535)] | None = Field(
        default=None,
        description="Port of the preview entrypoint that serves the new colour before the "
        "switch (default: the environment's port + 1000).",
    )


class PauseSpec(Section):
    """A pause; without a duration it lasts until `moai-deploy promote`."""

    duration: Seconds | None = Field(default=None, description="How long; unset = until promoted.")


class SetWeightStep(Section):
    """Send this percentage of the traffic to the canary."""

    set_weight: Weight


class PauseStep(Section):
    """Wait, for a duration or until promoted."""

    pause: PauseSpec


class AnalysisStep(Section):
    """Run an analysis and stop the rollout if it fails."""

    analysis: AnalysisSpec


CanaryStep = SetWeightStep | PauseStep | AnalysisStep


class CanaryStrategy(_Common):
    """Shift traffic to the new version step by step, judged by metrics, aborting to stable."""

    type: Literal["canary"] = "canary"
    steps: tuple[CanaryStep, ...] = Field(
        default=(),
        description="set_weight / pause / analysis steps, in order. Empty: generated from "
        "step_weight and max_weight.",
    )
    step_weight: Weight | None = Field(
        default=None, description="Shorthand: raise the canary weight by this much per step."
    )
    max_weight: Weight = Field(
        default=100, description="Shorthand: the last weight before full promotion."
    )
    step_pause: Seconds = Field(
        default=60.0, description="Shorthand: pause after each generated weight step."
    )
    analysis: AnalysisSpec | None = Field(
        default=None, description="Background analysis running over the whole rollout."
    )
    scale_down_delay: Seconds = Field(
        default=0.0, description="How long the old version keeps running after full promotion."
    )

    @model_validator(mode="after")
    def _steps_or_shorthand(self) -> CanaryStrategy:
        if self.steps and self.step_weight is not None:
            raise ValueError("give either `steps` or `step_weight`/`max_weight`, not both")
        return self

    def effective_steps(self) -> tuple[CanaryStep, ...]:
        """The explicit steps, or the ones the shorthand generates."""
        if self.steps:
            return self.steps
        step = self.step_weight or 20
        weights = [*range(step, self.max_weight, step), self.max_weight]
        generated: list[CanaryStep] = []
        for weight in weights:
            generated.append(SetWeightStep(set_weight=weight))
            if weight < 100:
                generated.append(PauseStep(pause=PauseSpec(duration=self.step_pause)))
        return tuple(generated)


class RollingStrategy(_Common):
    """Replace instances in batches, each readiness-gated, draining old ones first."""

    type: Literal["rolling"] = "rolling"
    max_surge: Annotated[int, Field(ge=0, le=64)] = Field(
        default=2, description="Extra instances started above `replicas` during the update."
    )
    max_unavailable: Annotated[int, Field(ge=0, le=64)] = Field(
        default=0, description="Instances that may be missing below `replicas` during the update."
    )
    pre_stop_delay: Seconds = Field(
        default=15.0,
        description="After an old instance leaves the router, how long it keeps running "
        "to finish in-flight requests before SIGTERM.",
    )

    @model_validator(mode="after")
    def _can_progress(self) -> RollingStrategy:
        if self.max_surge == 0 and self.max_unavailable == 0:
            raise ValueError("max_surge and max_unavailable cannot both be 0: nothing could move")
        return self


Strategy = Annotated[
    BlueGreenStrategy | CanaryStrategy | RollingStrategy, Field(discriminator="type")
]
AnyStrategy = BlueGreenStrategy | CanaryStrategy | RollingStrategy
