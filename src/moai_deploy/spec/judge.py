"""The statistical judge of an analysis (Kayenta-style Mann-Whitney U), as the spec says it."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from moai_deploy.spec._base import Section


class JudgeSpec(Section):
    """Statistical judge: Mann-Whitney U of canary vs stable per-request samples (Kayenta)."""

    pass_score: Annotated[float, Field(ge=0, le=100)] = Field(
        default=95.0, description="Score (0-100) at or above which the canary passes."
    )
    marginal_score: Annotated[float, Field(ge=0, le=100)] = Field(
        default=75.0,
        description="Score at or above which (below pass_score) the canary is marginal: "
        "the rollout pauses for a human. Below it the canary fails.",
    )
    metrics: tuple[Literal["latency", "errors"], ...] = Field(
        default=("latency", "errors"),
        min_length=1,
        description="Compared samples: latency (request durations) and errors (5xx as 1, else "
        "0). The score is the share of them where the canary is not significantly worse.",
    )
    confidence: Annotated[float, Field(gt=0.5, lt=1)] = Field(
        default=0.95, description="Confidence level of the two-sided Mann-Whitney U test."
    )
    tolerance: Annotated[float, Field(ge=0)] = Field(
        default=0.25,
        description="Relative increase of the canary's mean over stable's allowed even when "
        "significant (0.25 = 25 %).",
    )
    min_samples: Annotated[int, Field(ge=1)] = Field(
        default=20, description="Requests each version needs in the window to be judged."
    )
    on_no_data: Literal["inconclusive", "fail", "pass"] = Field(
        default="inconclusive",
        description="No stable, < min_samples a side (NaN samples are dropped): inconclusive "
        "pauses for a human, fail aborts, pass promotes.",
    )
    consecutive_error_limit: Annotated[int, Field(ge=0)] = Field(
        default=4,
        description="Judge errors in a row tolerated (e.g. an unreadable access log), retried "
        "each interval; one more ends the analysis in error.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.marginal_score > self.pass_score:
            raise ValueError("marginal_score must not exceed pass_score")
        return self
