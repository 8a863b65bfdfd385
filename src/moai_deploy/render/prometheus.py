"""Prometheus alerting rules: a rules file (`prometheus-rules`) and, for Kubernetes with the
Prometheus Operator, a `PrometheusRule` plus the `PodMonitor` that gives the pods' series
the `service`, `environment` and `version` labels the rules select on (`prometheus-rule`).
"""

from __future__ import annotations

from typing import Any

from moai_deploy.render import _alerts, _pod
from moai_deploy.render._dump import to_yaml
from moai_deploy.render.context import RenderContext

OPERATOR_API = "monitoring.coreos.com/v1"
RULES_PATH = "prometheus-rules/rules.yaml"
# Pod labels (as Prometheus' Kubernetes discovery names them) -> the rules' labels.
_POD_LABELS = {
    "service": "app_kubernetes_io_name",
    "environment": "moai_deploy_environment",
    "version": "app_kubernetes_io_version",
}


def render_rules(ctx: RenderContext) -> dict[str, str]:
    """`prometheus-rules/rules.yaml`: a rules file for Prometheus' `rule_files`."""
    return {RULES_PATH: to_yaml({"groups": _alerts.rule_groups(ctx)})}


def render_operator(ctx: RenderContext) -> dict[str, str]:
    """`prometheus-rule/`: the PrometheusRule and PodMonitor of the environment."""
    return {
        "prometheus-rule/prometheusrule.yaml": to_yaml(prometheus_rule(ctx)),
        "prometheus-rule/podmonitor.yaml": to_yaml(pod_monitor(ctx)),
    }


def prometheus_rule(ctx: RenderContext) -> dict[str, Any]:
    """The rule groups as a Prometheus Operator PrometheusRule."""
    return {
        "apiVersion": OPERATOR_API,
        "kind": "PrometheusRule",
        "metadata": _pod.metadata(ctx, f"{ctx.name}-alerts"),
        "spec": {"groups": _alerts.rule_groups(ctx)},
    }


def pod_monitor(ctx: RenderContext) -> dict[str, Any]:
    """Scrape the service's pods on their metrics path, labelled like the local stack."""
    monitoring = ctx.spec.monitoring_of(ctx.environment)
    relabelings = [
        {
            "sourceLabels": [f"__meta_kubernetes_pod_label_{source}"],
            "targetLabel": target,
            "action": "replace",
        }
        for target, source in _POD_LABELS.items()
    ]
    return {
        "apiVersion": OPERATOR_API,
        "kind": "PodMonitor",
        "metadata": _pod.metadata(ctx, ctx.name),
        "spec": {
            "selector": {"matchLabels": dict(ctx.selector)},
            "podMetricsEndpoints": [
                {
                    "port": "http",
                    "path": ctx.service.metrics_path,
                    "interval": _alerts.duration(monitoring.scrape_interval),
                    "relabelings": relabelings,
                }
            ],
        },
    }
