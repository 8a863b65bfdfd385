"""Argo Rollouts AnalysisTemplates from the spec's analysis blocks.

The same `analysis:` that judges a release on the laptop (Traefik's metrics) judges it on
a cluster: each metric becomes an Argo metric with the same interval, count, limits and
conditions, measured by Prometheus over the pods of the new ReplicaSet (selected by the
pod-template hash Argo passes as an argument).
"""

from __future__ import annotations

import re
from typing import Any

from moai_deploy.render.context import RenderContext

API = "argoproj.io/v1alpha1"
HASH_ARGS = (("canary-hash", "Latest"), ("stable-hash", "Stable"))
_RESULT = re.compile(r"\bresult\b(?!\s*\[)")


def args() -> list[dict[str, Any]]:
    """Arguments every generated template takes: the new and the stable pod-template hash."""
    return [
        {"name": name, "valueFrom": {"podTemplateHashValue": which}} for name, which in HASH_ARGS
    ]


def template_ref(names: list[str]) -> dict[str, Any]:
    """An analysis block of a Rollout: templates plus the hash arguments."""
    return {"templates": [{"templateName": name} for name in names], "args": args()}


def _duration(seconds: float) -> str:
    return f"{max(1, round(seconds))}s"


def _selector(ctx: RenderContext, which: str) -> str:
    pods = f"{ctx.name}-{{{{args.{which}-hash}}}}-.*"
    return f'namespace="{ctx.namespace}",pod=~"{pods}"'


def _requests(ctx: RenderContext, which: str, window: str, extra: str = "") -> str:
    return f"sum(rate(http_requests_total{{{_selector(ctx, which)}{extra}}}[{window}]))"


def _error_share(ctx: RenderContext, which: str, window: str) -> str:
    errors = _requests(ctx, which, window, ',status=~"5.."')
    return f"({errors} / {_requests(ctx, which, window)})"


def builtin_query(ctx: RenderContext, measure: str, quantile: float, window: str) -> str:
    """PromQL over the app's own metrics for one of the local runtime's measures."""
    if measure == "success_rate":
        ok = _requests(ctx, "canary", window, ',status!~"5.."')
        return f"{ok} / {_requests(ctx, 'canary', window)}"
    if measure == "error_rate":
        return _error_share(ctx, "canary", window)
    if measure == "latency":
        buckets = f"http_request_duration_seconds_bucket{{{_selector(ctx, 'canary')}}}"
        return f"histogram_quantile({quantile}, sum by (le) (rate({buckets}[{window}])))"
    if measure == "error_rate_delta":
        return f"{_error_share(ctx, 'canary', window)} - {_error_share(ctx, 'stable', window)}"
    return _requests(ctx, "canary", window)


def _provider(ctx: RenderContext, metric: Any, window: str) -> dict[str, Any]:
    provider = metric.provider
    if getattr(provider, "type", "traefik") == "prometheus":
        query = str(provider.query)
        for local, argo in (("canary", "canary-hash"), ("stable", "stable-hash")):
            query = query.replace(f"{{{{{local}}}}}", f"{{{{args.{argo}}}}}")
        query = query.replace("{{window}}", window)
        return {"prometheus": {"address": str(provider.address), "query": query}}
    measure = str(getattr(provider, "measure", "success_rate"))
    quantile = float(getattr(provider, "quantile", 0.95))
    query = builtin_query(ctx, measure, quantile, window)
    return {"prometheus": {"address": ctx.targets.prometheus_url, "query": query}}


def argo_metric(ctx: RenderContext, metric: Any) -> dict[str, Any]:
    """One spec metric (MetricSpec) as an Argo metric; conditions read `result[0]`."""
    window = _duration(float(metric.interval))
    item: dict[str, Any] = {"name": str(metric.name), "interval": window}
    if getattr(metric, "initial_delay", 0):
        item["initialDelay"] = _duration(float(metric.initial_delay))
    if getattr(metric, "count", None):
        item["count"] = int(metric.count)
    for field, key in (
        ("success_condition", "successCondition"),
        ("failure_condition", "failureCondition"),
    ):
        condition = getattr(metric, field, None)
        if condition:
            item[key] = _RESULT.sub("result[0]", str(condition))
    item["failureLimit"] = int(getattr(metric, "failure_limit", 0))
    item["inconclusiveLimit"] = int(getattr(metric, "inconclusive_limit", 0))
    if getattr(metric, "consecutive_success_limit", None):
        item["consecutiveSuccessLimit"] = int(metric.consecutive_success_limit)
    item["consecutiveErrorLimit"] = int(getattr(metric, "consecutive_error_limit", 4))
    item["provider"] = _provider(ctx, metric, window)
    return item


def analysis_template(ctx: RenderContext, name: str, analysis: Any) -> dict[str, Any]:
    """An AnalysisTemplate with every metric of one `analysis:` block."""
    resolved = analysis.resolved() if hasattr(analysis, "resolved") else analysis.metrics
    metrics = [argo_metric(ctx, metric) for metric in resolved]
    spec: dict[str, Any] = {"args": [{"name": n} for n, _ in HASH_ARGS], "metrics": metrics}
    dry = [{"metricName": str(m.name)} for m in resolved if getattr(m, "dry_run", False)]
    if dry:
        spec["dryRun"] = dry
    return {
        "apiVersion": API,
        "kind": "AnalysisTemplate",
        "metadata": _meta(ctx, name),
        "spec": spec,
    }


def _meta(ctx: RenderContext, name: str) -> dict[str, Any]:
    return {"name": name, "namespace": ctx.namespace, "labels": dict(ctx.labels)}


def smoke_template(ctx: RenderContext, name: str, service: str, paths: list[str]) -> dict[str, Any]:
    """A Job, in the app's own image, that GETs every smoke path on the new pods' service."""
    base = f"http://{service}.{ctx.namespace}.svc.cluster.local"
    code = (
        "import sys, urllib.request\n"
        "for url in sys.argv[1:]:\n"
        "    urllib.request.urlopen(url, timeout=5)\n"
    )
    hardened = {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": 1000,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    container = {
        "name": "smoke",
        "image": ctx.image,
        "command": ["python", "-c", code, *(base + path for path in paths)],
        "securityContext": hardened,
        "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}},
    }
    labels = {"app.kubernetes.io/name": f"{ctx.name}-smoke"}
    pod = {
        "metadata": {"labels": labels},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "containers": [container],
        },
    }
    job = {"backoffLimit": 0, "activeDeadlineSeconds": 120, "template": pod}
    metric = {"name": "smoke", "count": 1, "failureLimit": 0, "provider": {"job": {"spec": job}}}
    spec = {"args": [{"name": n} for n, _ in HASH_ARGS], "metrics": [metric]}
    return {
        "apiVersion": API,
        "kind": "AnalysisTemplate",
        "metadata": _meta(ctx, name),
        "spec": spec,
    }
