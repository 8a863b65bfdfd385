"""Analysis definitions: the metrics a canary or blue-green release is judged by.

Semantics follow Argo Rollouts' AnalysisTemplate: every `interval` a metric is measured,
each measurement is successful, failed or inconclusive by its conditions, and the run's verdict
follows count, failure_limit, consecutive_success_limit and inconclusive_limit. Built-in
templates (`- template: success-rate`) expand to metrics.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from moai_deploy.analysis.conditions import parse_condition
from moai_deploy.spec._base import Section
from moai_deploy.spec._types import Seconds
from moai_deploy.spec.judge import JudgeSpec

MetricName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")]
Measure = Literal["success_rate", "error_rate", "latency", "error_rate_delta", "request_rate"]
TemplateName = Literal["success-rate", "p95-latency", "no-5xx-spike"]

# Each template: what it measures, its success condition, and the argument's default.
TEMPLATES: dict[str, tuple[Measure, str, float]] = {
    "success-rate": ("success_rate", "result >= {threshold}", 0.95),
    "p95-latency": ("latency", "result <= {threshold}", 0.5),
    "no-5xx-spike": ("error_rate_delta", "result <= {threshold}", 0.01),
}
TEMPLATE_ARGS = frozenset({"threshold"})


class RouterProvider(Section):
    """The router's own per-version figures: Traefik's metrics or HAProxy's request log."""

    type: Literal["router", "traefik"] = Field(
        default="router",
        description="The router's own figures (Traefik: its metrics, HAProxy: its request "
        "log); `traefik` is the former name of the same provider.",
    )
    measure: Measure = Field(
        default="success_rate",
        description=(
            "What `result` is, for the canary over the last interval: success_rate (share of "
            "non-5xx responses), error_rate (share of 5xx), latency (seconds at `quantile`), "
            "error_rate_delta (canary 5xx share minus stable 5xx share), request_rate (req/s). "
            "No requests in the window gives no value: the measurement is inconclusive."
        ),
    )
    quantile: Annotated[float, Field(gt=0, lt=1)] = Field(
        default=0.95, description="Quantile for `measure: latency` (0.95 = p95)."
    )


class PrometheusProvider(Section):
    """A Prometheus server queried with PromQL (for production setups)."""

    type: Literal["prometheus"] = Field(description="A Prometheus server queried with PromQL.")
    address: Annotated[str, Field(pattern=r"^https?://\S+$")] = Field(
        description="Base URL of the Prometheus server, e.g. http://prometheus:9090."
    )
    query: str = Field(
        min_length=1,
        description=(
            "PromQL giving one number. {{canary}} and {{stable}} become the versions' router "
            "backend names (Traefik labels them '<name>@file'), {{window}} the interval, "
            "e.g. '30s' (rate/increase need two scrapes inside it). An empty result or NaN "
            "is no data (inconclusive)."
        ),
    )
    timeout: Annotated[float, Field(gt=0)] = Field(
        default=5.0, description="Seconds to wait for Prometheus before the measurement errs."
    )


def _provider_kind(value: Any) -> str:
    # `type` may be left out: the router's own figures are the default provider.
    kind = value.get("type", "router") if isinstance(value, dict) else getattr(value, "type", "")
    return "router" if kind == "traefik" else str(kind)


TraefikProvider = RouterProvider  # its former name
Provider = Annotated[
    Annotated[RouterProvider, Tag("router")] | Annotated[PrometheusProvider, Tag("prometheus")],
    Discriminator(_provider_kind),
]


NonNegative = Annotated[int, Field(ge=0)]
Positive = Annotated[int, Field(ge=1)]
LIMIT_FIELDS = (
    "failure_limit",
    "inconclusive_limit",
    "consecutive_success_limit",
    "consecutive_error_limit",
    "dry_run",
    "initial_delay",
)


_LIMIT_DOCS = {
    "failures": "Failed measurements tolerated; one more fails the metric.",
    "inconclusive": "Inconclusive measurements tolerated; one more makes the metric "
    "inconclusive (the rollout pauses for a human).",
    "streak": "Successful in a row that make the metric successful early. With `count` too, "
    "reaching the count without this streak is inconclusive.",
    "errors": "Measurement errors in a row tolerated (the provider could not answer); one more "
    "ends the metric in error.",
    "dry_run": "Measure and report, but never decide the verdict.",
    "delay": "Wait this long before the first measurement window opens.",
}


class MetricSpec(Section):
    """One measured metric and the conditions that judge each measurement."""

    name: MetricName = Field(description="Metric name, shown in the ledger and live view.")
    provider: Provider = Field(
        default_factory=RouterProvider,
        description="Where values come from: router (default) or prometheus.",
    )
    interval: Annotated[Seconds, Field(gt=0)] = Field(
        default=30.0, description="Time between measurements; also each measurement's window."
    )
    count: Annotated[int, Field(ge=1)] | None = Field(
        default=None,
        description="Measurements to take; unset = until the analysis is stopped.",
    )
    success_condition: str | None = Field(
        default=None,
        description="Condition over `result` for a successful measurement, e.g. "
        "'result >= 0.95'. Without a failure_condition, false means failed.",
    )
    failure_condition: str | None = Field(
        default=None,
        description="Condition over `result` for a failed measurement (checked first). "
        "Neither condition true = inconclusive.",
    )
    failure_limit: NonNegative = Field(default=0, description=_LIMIT_DOCS["failures"])
    inconclusive_limit: NonNegative = Field(default=0, description=_LIMIT_DOCS["inconclusive"])
    consecutive_success_limit: Positive | None = Field(None, description=_LIMIT_DOCS["streak"])
    consecutive_error_limit: NonNegative = Field(default=4, description=_LIMIT_DOCS["errors"])
    dry_run: bool = Field(default=False, description=_LIMIT_DOCS["dry_run"])
    initial_delay: Seconds = Field(default=0.0, description=_LIMIT_DOCS["delay"])
    compare: Literal["absolute", "ratio_to_stable"] = Field(
        default="absolute",
        description="absolute: `result` is the canary's value; ratio_to_stable: canary / stable "
        "over the same window (`result <= 1.2`: at most 20 % worse; no stable or 0 = no data).",
    )

    @field_validator("success_condition", "failure_condition")
    @classmethod
    def _parse(cls, value: str | None) -> str | None:
        if value is not None:
            parse_condition(value)  # ConditionError is a ValueError: pydantic reports it
        return value

    @model_validator(mode="after")
    def _has_condition(self) -> Self:
        if self.success_condition is None and self.failure_condition is None:
            raise ValueError(
                f"metric {self.name!r} needs success_condition or failure_condition, "
                "e.g. success_condition: 'result >= 0.95'"
            )
        return self


class TemplateRef(Section):
    """A built-in metric by name: success-rate, p95-latency or no-5xx-spike."""

    template: TemplateName = Field(
        description="success-rate: canary non-5xx share >= threshold (0.95); p95-latency: "
        "canary p95 seconds <= threshold (0.5); no-5xx-spike: canary 5xx share minus stable "
        "5xx share in the same window <= threshold (0.01)."
    )
    args: dict[str, float] = Field(
        default_factory=dict, description="Template arguments: `threshold`."
    )
    name: MetricName | None = Field(default=None, description="Metric name (default: template).")
    interval: Annotated[Seconds, Field(gt=0)] = Field(
        default=30.0, description="Time between measurements; also each measurement's window."
    )
    count: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="Measurements to take; unset = until the analysis is stopped."
    )
    failure_limit: NonNegative = Field(default=0, description=_LIMIT_DOCS["failures"])
    inconclusive_limit: NonNegative = Field(default=0, description=_LIMIT_DOCS["inconclusive"])
    consecutive_success_limit: Positive | None = Field(None, description=_LIMIT_DOCS["streak"])
    consecutive_error_limit: NonNegative = Field(default=4, description=_LIMIT_DOCS["errors"])
    dry_run: bool = Field(default=False, description=_LIMIT_DOCS["dry_run"])
    initial_delay: Seconds = Field(default=0.0, description=_LIMIT_DOCS["delay"])

    @field_validator("args")
    @classmethod
    def _known_args(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - TEMPLATE_ARGS)
        if unknown:
            raise ValueError(f"unknown template argument(s) {unknown}; templates take `threshold`")
        return value

    def to_metric(self) -> MetricSpec:
        """The metric this reference stands for."""
        measure, condition, default = TEMPLATES[self.template]
        limits = self.model_dump(include=set(LIMIT_FIELDS))
        threshold = self.args.get("threshold", default)
        return MetricSpec(
            name=self.name or self.template,
            provider=RouterProvider(measure=measure),
            interval=self.interval,
            count=self.count,
            success_condition=condition.format(threshold=threshold),
            **limits,
        )


def _metric_kind(value: Any) -> str:
    # A `template:` key picks the reference form, so errors name only the fields that apply.
    has_template = "template" in value if isinstance(value, dict) else hasattr(value, "template")
    return "template" if has_template else "metric"


MetricEntry = Annotated[
    Annotated[MetricSpec, Tag("metric")] | Annotated[TemplateRef, Tag("template")],
    Discriminator(_metric_kind),
]


class AnalysisSpec(Section):
    """Metrics, their conditions and how often they are measured."""

    metrics: tuple[MetricEntry, ...] = Field(
        description="Metrics to measure: full definitions, or `template:` references.",
    )
    judge: JudgeSpec | None = Field(
        default=None,
        description="Optional statistical judge, run over the whole analysis window once "
        "every deciding metric has completed successfully.",
    )

    @field_validator("metrics")
    @classmethod
    def _some_metric(cls, value: tuple[MetricSpec | TemplateRef, ...]) -> tuple[Any, ...]:
        # Not `min_length`: pydantic would also report it whenever an entry is invalid.
        if not value:
            raise ValueError(
                "an analysis needs at least one metric, e.g. `- template: success-rate`"
            )
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        names = [m.name for m in self.resolved()]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"metric names must be unique; repeated: {duplicates}")
        return self

    def resolved(self) -> tuple[MetricSpec, ...]:
        """Every metric, with templates expanded."""
        return tuple(m.to_metric() if isinstance(m, TemplateRef) else m for m in self.metrics)
