"""Monitoring render targets: durations, overrides per environment, dashboard shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from moai_deploy.errors import BadInputError
from moai_deploy.render import _alerts, _node, render
from moai_deploy.spec.loader import load_spec
from moai_deploy.spec.models import Spec
from moai_deploy.spec.monitoring import MonitoringSpec

EXAMPLE = Path(__file__).parents[2] / "examples" / "hello-service" / "moai-deploy.yaml"


def _spec(**monitoring: object) -> Spec:
    base = load_spec(EXAMPLE).spec.model_dump(mode="json", exclude_unset=True)
    base["defaults"]["monitoring"] = monitoring.get("defaults", {})
    base["environments"]["staging"]["monitoring"] = monitoring.get("staging", {})
    base["monitoring"] = monitoring.get("top", {})
    return Spec.model_validate(base)


def _rules(spec: Spec, environment: str) -> dict[str, dict[str, object]]:
    text = render(spec, environment, "1", ["prometheus-rules"])["prometheus-rules/rules.yaml"]
    group = yaml.safe_load(text)["groups"][0]
    return {rule["alert"]: rule for rule in group["rules"]}


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(300, "5m"), (600, "10m"), (2, "2s"), (0.5, "500ms"), (0, "0s"), (3600, "1h"), (90, "90s")],
)
def test_prometheus_durations(seconds: float, text: str) -> None:
    assert _alerts.duration(seconds) == text


def test_overrides_merge_key_by_key_top_then_defaults_then_environment() -> None:
    spec = _spec(
        top={"rate_window": "1m", "alerts": {"high_latency": {"threshold": "2s"}}},
        defaults={"alerts": {"high_latency": {"duration": "1m"}}},
        staging={
            "alerts": {
                "high_latency": {"severity": "critical"},
                "crash_looping": {"enabled": False},
            }
        },
    )
    staging, production = _rules(spec, "staging"), _rules(spec, "production")
    assert "CrashLooping" not in staging and "CrashLooping" in production
    latency = staging["HighLatencyP95"]
    assert str(latency["expr"]).endswith("> 2")
    assert "[1m]" in str(latency["expr"])
    assert latency["for"] == "1m"
    assert latency["labels"] == {
        "severity": "critical",
        "service": "hello",
        "environment": "staging",
    }
    assert production["HighLatencyP95"]["labels"]["severity"] == "warning"  # type: ignore[index]


def test_probe_and_metrics_endpoints_are_left_out_of_the_rates() -> None:
    expr = str(_rules(_spec(), "production")["HighErrorRate"]["expr"])
    assert 'endpoint!~"/health|/metrics|/ready"' in expr
    assert expr.count('status=~"5.."') == 1


def test_memory_alert_uses_the_environments_memory_limit() -> None:
    expr = str(_rules(_spec(), "production")["HighMemoryUsage"]["expr"])
    assert "/ 536870912 > 0.9" in expr  # 512Mi


def test_monitoring_spec_rejects_an_error_rate_above_one() -> None:
    with pytest.raises(ValueError, match="less than or equal to 1"):
        MonitoringSpec.model_validate({"alerts": {"high_error_rate": {"threshold": 5}}})


def test_dashboard_has_the_four_panels_and_release_annotations() -> None:
    files = render(_spec(), "production", "1", ["grafana-dashboard"])
    board = json.loads(files["grafana-dashboard/dashboard.json"])
    titles = [panel["title"] for panel in board["panels"]]
    assert titles == [
        "Requests per second by version",
        "5xx error rate by version",
        "p95 latency by version",
        "Instances up by version",
    ]
    assert all(p["targets"][0]["legendFormat"] == "{{version}}" for p in board["panels"])
    names = [item["name"] for item in board["annotations"]["list"]]
    assert names == ["Annotations & Alerts", "Releases", "Firing alerts"]
    assert len(board["uid"]) <= 40
    error_steps = board["panels"][1]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert error_steps[-1]["value"] == 0.05  # the alert's threshold drawn on the panel


def test_operator_objects_carry_the_rules_and_the_scrape_labels() -> None:
    files = render(_spec(), "production", "1", ["prometheus-rule"])
    rule = yaml.safe_load(files["prometheus-rule/prometheusrule.yaml"])
    monitor = yaml.safe_load(files["prometheus-rule/podmonitor.yaml"])
    assert rule["kind"] == "PrometheusRule" and len(rule["spec"]["groups"][0]["rules"]) == 4
    targets = {r["targetLabel"] for r in monitor["spec"]["podMetricsEndpoints"][0]["relabelings"]}
    assert targets == {"service", "environment", "version"}


def test_type_check_needs_node_and_npm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_node.shutil, "which", lambda name: None)
    with pytest.raises(BadInputError, match="apt-get install nodejs npm"):
        _node._npm()


def test_kind_detection() -> None:
    assert _node._kind({"panels": [], "schemaVersion": 39}) == "dashboard"
    assert _node._kind({"kind": "PodMonitor"}) == "PodMonitor"
    assert _node._kind({"kind": "Deployment"}) is None
    assert _node._kind(["not", "a", "mapping"]) is None
