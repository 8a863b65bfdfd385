"""The analysis spec models: defaults, templates, validation and their error messages."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from moai_deploy.analysis.base import AnalysisPhase, Measurement
from moai_deploy.analysis.registry import check_metric
from moai_deploy.analysis.tally import MeasurementJudge
from moai_deploy.spec.analysis import (
    AnalysisSpec,
    MetricSpec,
    PrometheusProvider,
    TemplateRef,
    TraefikProvider,
)


def spec(*metrics: dict[str, Any], **extra: Any) -> AnalysisSpec:
    return AnalysisSpec.model_validate({"metrics": list(metrics), **extra})


def test_a_metric_defaults_to_the_traefik_success_rate_with_argo_limits() -> None:
    metric = spec({"name": "ok", "success_condition": "result >= 0.95"}).resolved()[0]
    assert metric.provider == TraefikProvider(measure="success_rate")
    assert (metric.interval, metric.count, metric.initial_delay) == (30.0, None, 0.0)
    assert (metric.failure_limit, metric.inconclusive_limit) == (0, 0)
    assert (metric.consecutive_error_limit, metric.consecutive_success_limit) == (4, None)
    assert metric.dry_run is False


def test_the_provider_type_may_be_left_out_and_unknown_types_are_named() -> None:
    metric = spec(
        {"name": "p", "success_condition": "result < 1", "provider": {"measure": "latency"}}
    )
    assert metric.resolved()[0].provider == TraefikProvider(measure="latency")
    with pytest.raises(ValidationError, match="'router', 'prometheus'"):
        spec({"name": "p", "success_condition": "result < 1", "provider": {"type": "datadog"}})


def test_traefik_is_the_former_name_of_the_router_provider() -> None:
    old = spec({"name": "p", "success_condition": "result < 1", "provider": {"type": "traefik"}})
    new = spec({"name": "p", "success_condition": "result < 1", "provider": {"type": "router"}})
    assert isinstance(old.resolved()[0].provider, TraefikProvider)
    assert old.resolved()[0].provider.type == "traefik"
    assert new.resolved()[0].provider.type == "router"
    assert check_metric(old.resolved()[0]) is None
    assert check_metric(new.resolved()[0]) is None


def test_durations_accept_strings_and_numbers() -> None:
    metric = spec(
        {"name": "ok", "success_condition": "result > 0", "interval": "500ms", "initial_delay": 2}
    ).resolved()[0]
    assert (metric.interval, metric.initial_delay) == (0.5, 2.0)


@pytest.mark.parametrize(
    ("ref", "measure", "condition", "value_passing", "value_failing"),
    [
        ({"template": "success-rate"}, "success_rate", "result >= 0.95", 0.95, 0.94),
        (
            {"template": "success-rate", "args": {"threshold": 0.99}},
            "success_rate",
            "result >= 0.99",
            0.99,
            0.98,
        ),
        ({"template": "p95-latency"}, "latency", "result <= 0.5", 0.5, 0.51),
        ({"template": "no-5xx-spike"}, "error_rate_delta", "result <= 0.01", 0.0, 0.3),
    ],
)
def test_templates_expand_to_metrics(
    ref: dict[str, Any], measure: str, condition: str, value_passing: float, value_failing: float
) -> None:
    metric = spec({**ref, "interval": "1s", "failure_limit": 3, "dry_run": True}).resolved()[0]
    assert metric.name == ref["template"]
    assert isinstance(metric.provider, TraefikProvider) and metric.provider.measure == measure
    assert metric.success_condition == condition
    assert (metric.interval, metric.failure_limit, metric.dry_run) == (1.0, 3, True)
    judge = MeasurementJudge(metric)
    assert judge.judge(Measurement(value_passing, 0.0)).phase is AnalysisPhase.SUCCESSFUL
    assert judge.judge(Measurement(value_failing, 0.0)).phase is AnalysisPhase.FAILED


def test_prometheus_provider_needs_address_and_query() -> None:
    metric = spec(
        {
            "name": "errors",
            "failure_condition": "result > 0.05",
            "provider": {"type": "prometheus", "address": "http://prom:9090", "query": "up"},
        }
    ).resolved()[0]
    assert metric.provider == PrometheusProvider(
        type="prometheus", address="http://prom:9090", query="up"
    )
    with pytest.raises(ValidationError, match="address"):
        spec(
            {
                "name": "e",
                "success_condition": "result > 0",
                "provider": {"type": "prometheus", "query": "up"},
            }
        )


@pytest.mark.parametrize(
    ("metrics", "extra", "complaint"),
    [
        ([{"name": "x"}], {}, "needs success_condition or failure_condition"),
        ([{"name": "x", "success_condition": "__import__('os')"}], {}, "Call is not allowed"),
        ([{"name": "x", "failure_condition": "result >"}], {}, "cannot parse condition"),
        ([{"template": "success-rat"}], {}, "'success-rate', 'p95-latency' or 'no-5xx-spike'"),
        ([{"template": "p95-latency", "args": {"limit": 1}}], {}, "templates take `threshold`"),
        ([{"template": "p95-latency", "success_condition": "result > 1"}], {}, "Extra inputs"),
        ([{"name": "x", "success_condition": "result > 0", "interval": 0}], {}, "greater than 0"),
        (
            [{"name": "x", "success_condition": "result > 0", "count": 0}],
            {},
            "greater than or equal to 1",
        ),
        ([{"name": "x", "success_condition": "result > 0", "failure_limt": 1}], {}, "Extra inputs"),
        ([], {}, "needs at least one metric"),
        ([{"template": "p95-latency"}, {"template": "p95-latency"}], {}, "unique; repeated"),
        ([{"template": "p95-latency"}], {"judge": {"pass_score": 70}}, "marginal_score must not"),
    ],
)
def test_invalid_analyses_are_refused_with_the_reason(
    metrics: list[dict[str, Any]], extra: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(ValidationError, match=complaint) as caught:
        spec(*metrics, **extra)
    assert "Tuple should have at least 1 item" not in str(caught.value)


def test_two_templates_of_one_kind_need_their_own_names() -> None:
    analysis = spec(
        {"template": "p95-latency", "name": "p95-strict", "args": {"threshold": 0.2}},
        {"template": "p95-latency", "dry_run": True},
    )
    names = [m.name for m in analysis.resolved()]
    assert names == ["p95-strict", "p95-latency"]
    assert isinstance(analysis.metrics[0], TemplateRef)


def test_judge_defaults_follow_kayenta() -> None:
    analysis = spec({"template": "success-rate"}, judge={})
    assert analysis.judge is not None
    assert (analysis.judge.pass_score, analysis.judge.marginal_score) == (95.0, 75.0)
    assert analysis.judge.metrics == ("latency", "errors")


def test_every_field_is_documented() -> None:
    from moai_deploy.spec.analysis import JudgeSpec

    for model in (
        AnalysisSpec,
        MetricSpec,
        TemplateRef,
        TraefikProvider,
        PrometheusProvider,
        JudgeSpec,
    ):
        for name, info in model.model_fields.items():
            assert info.description, f"{model.__name__}.{name} has no description"
