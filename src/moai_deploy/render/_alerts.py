"""The seed's four alerting rules as data, from the spec's service and one environment.

Every series carries the labels `service`, `environment` and `version`: the local stack
(`moai-deploy monitor up`) sets them on each instance's scrape target, and on Kubernetes the
rendered PodMonitor copies them from the pod labels. The queries read the service's own
metrics (the seed's `http_requests_total{method,endpoint,status}` and
`http_request_duration_seconds`) plus prometheus_client's process metrics, so the same rules
work wherever the service runs. Probe and metrics endpoints are left out of the rates: the
router's health checks and the scrapes themselves must not dilute the error rate.
"""

from __future__ import annotations

from typing import Any

from moai_deploy.render._units import mebibytes
from moai_deploy.render.context import RenderContext
from moai_deploy.spec.monitoring import MonitoringSpec

BY_VERSION = "service, environment, version"
ALERT_NAMES = ("HighErrorRate", "HighLatencyP95", "CrashLooping", "HighMemoryUsage")


def duration(seconds: float) -> str:
    """Seconds as a Prometheus duration: 300 -> '5m', 2 -> '2s', 0.5 -> '500ms'."""
    millis = round(seconds * 1000)
    if millis == 0:
        return "0s"
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if millis and millis % size == 0:
            return f"{millis // size}{unit}"
    return f"{millis}ms"


def selector(ctx: RenderContext, *extra: str) -> str:
    """The label matchers of this environment's series (plus `extra` ones)."""
    matchers = [f'service="{ctx.name}"', f'environment="{ctx.environment}"', *extra]
    return "{" + ", ".join(matchers) + "}"


def traffic_selector(ctx: RenderContext, *extra: str) -> str:
    """Matchers of real traffic: the probe and metrics endpoints left out."""
    service = ctx.service
    probes = sorted({service.health_path, service.ready_path, service.metrics_path})
    return selector(ctx, f'endpoint!~"{"|".join(probes)}"', *extra)


def request_rate(ctx: RenderContext, window: str, *extra: str) -> str:
    return (
        f"sum by ({BY_VERSION}) "
        f"(rate(http_requests_total{traffic_selector(ctx, *extra)}[{window}]))"
    )


def error_ratio(ctx: RenderContext, window: str) -> str:
    """5xx answers over all answers, per version."""
    errors = request_rate(ctx, window, 'status=~"5.."')
    return f"{errors} / {request_rate(ctx, window)}"


def p95(ctx: RenderContext, window: str) -> str:
    """The 95th percentile answer time, per version."""
    buckets = f"http_request_duration_seconds_bucket{traffic_selector(ctx)}"
    return f"histogram_quantile(0.95, sum by ({BY_VERSION}, le) (rate({buckets}[{window}])))"


def _rule(ctx: RenderContext, name: str, spec: Any, expr: str, text: str) -> dict[str, Any]:
    unit = {"HighLatencyP95": " s"}.get(name, "")
    value = "{{ $value | humanizePercentage }}" if "%" in text else "{{ $value }}"
    return {
        "alert": name,
        "expr": expr,
        "for": duration(spec.duration),
        "labels": {
            "severity": spec.severity,
            "service": ctx.name,
            "environment": ctx.environment,
        },
        "annotations": {
            "summary": f"{ctx.name} {ctx.environment} {{{{ $labels.version }}}}: {text}",
            "description": f"Current value: {value}{unit}.",
        },
    }


def alert_rules(ctx: RenderContext, monitoring: MonitoringSpec) -> list[dict[str, Any]]:
    """The enabled alerts of the environment, in the seed's order."""
    alerts, window = monitoring.alerts, duration(monitoring.rate_window)
    limit = mebibytes(ctx.targets.resources.memory_limit) * 1024 * 1024
    errors, slow = alerts.high_error_rate, alerts.high_latency
    crash, memory = alerts.crash_looping, alerts.high_memory
    restarts = f"changes(process_start_time_seconds{selector(ctx)}[{duration(crash.window)}])"
    candidates: list[tuple[Any, str, str]] = [
        (
            errors,
            f"{error_ratio(ctx, window)} > {errors.threshold:g}",
            f"5xx share above {errors.threshold:.0%} for {duration(errors.duration)}",
        ),
        (
            slow,
            f"{p95(ctx, window)} > {slow.threshold:g}",
            f"p95 above {slow.threshold:g}s for {duration(slow.duration)}",
        ),
        (
            crash,
            f"{restarts} >= {crash.threshold}",
            f"{{{{ $labels.instance }}}} restarted {crash.threshold}+ times in "
            f"{duration(crash.window)}",
        ),
        (
            memory,
            f"process_resident_memory_bytes{selector(ctx)} / {limit} > {memory.threshold:g}",
            f"{{{{ $labels.instance }}}} uses over {memory.threshold:.0%} of its memory limit",
        ),
    ]
    return [
        _rule(ctx, name, spec, expr, text)
        for name, (spec, expr, text) in zip(ALERT_NAMES, candidates, strict=True)
        if spec.enabled
    ]


def rule_groups(ctx: RenderContext) -> list[dict[str, Any]]:
    """The rule groups of one environment (one group, evaluated at the spec's interval)."""
    monitoring = ctx.spec.monitoring_of(ctx.environment)
    return [
        {
            "name": f"moai-deploy-{ctx.instance}",
            "interval": duration(monitoring.evaluation_interval),
            "rules": alert_rules(ctx, monitoring),
        }
    ]
