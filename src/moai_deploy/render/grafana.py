"""A Grafana dashboard of one environment: request rate, error rate and p95 per version,
instances per version, with releases and firing alerts as annotations.

The JSON follows Grafana's dashboard model (`@grafana/schema`'s `Dashboard`); the queries
are the same expressions the alerting rules use (`_alerts.py`), with Grafana's
`$__rate_interval` as the window.
"""

from __future__ import annotations

from typing import Any

from moai_deploy.render import _alerts
from moai_deploy.render._dump import to_json
from moai_deploy.render.context import RenderContext

SCHEMA_VERSION = 39
WINDOW = "$__rate_interval"
PATH = "grafana-dashboard/dashboard.json"
Panel = dict[str, Any]


def render(ctx: RenderContext) -> dict[str, str]:
    """`grafana-dashboard/dashboard.json`, ready for Grafana's import or provisioning."""
    return {PATH: to_json(dashboard(ctx))}


def _datasource(ctx: RenderContext) -> dict[str, str]:
    return {"type": "prometheus", "uid": ctx.spec.monitoring_of(ctx.environment).datasource}


def _panel(ctx: RenderContext, index: int, shown: tuple[str, str, str, float | None]) -> Panel:
    title, expr, unit, threshold = shown
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    if threshold is not None:
        steps.append({"color": "red", "value": threshold})
    return {
        "type": "timeseries",
        "id": index + 1,
        "title": title,
        "datasource": _datasource(ctx),
        "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
        "targets": [
            {
                "datasource": _datasource(ctx),
                "refId": "A",
                "expr": expr,
                "legendFormat": "{{version}}",
                "range": True,
            }
        ],
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "min": 0,
                "thresholds": {"mode": "absolute", "steps": steps},
                "custom": {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10},
            },
            "overrides": [],
        },
        "options": {
            "legend": {
                "displayMode": "list",
                "placement": "bottom",
                "showLegend": True,
                "calcs": [],
            },
            "tooltip": {"mode": "multi", "sort": "none"},
        },
    }


def panels(ctx: RenderContext) -> list[Panel]:
    """The four panels, two per row."""
    alerts = ctx.spec.monitoring_of(ctx.environment).alerts
    instances = f"count by ({_alerts.BY_VERSION}) (up{_alerts.selector(ctx)} == 1)"
    specs: list[tuple[str, str, str, float | None]] = [
        ("Requests per second by version", _alerts.request_rate(ctx, WINDOW), "reqps", None),
        (
            "5xx error rate by version",
            _alerts.error_ratio(ctx, WINDOW),
            "percentunit",
            alerts.high_error_rate.threshold,
        ),
        ("p95 latency by version", _alerts.p95(ctx, WINDOW), "s", alerts.high_latency.threshold),
        ("Instances up by version", instances, "short", None),
    ]
    return [_panel(ctx, i, spec) for i, spec in enumerate(specs)]


def release_annotations(ctx: RenderContext) -> list[dict[str, Any]]:
    """Grafana's own annotations, each release (a version's first scrape) and firing alerts."""
    up = f"up{_alerts.selector(ctx)}"
    new_version = f"count by (version) ({up}) unless count by (version) ({up} offset 2m)"
    firing = "ALERTS" + _alerts.selector(ctx, 'alertstate="firing"')
    builtin = {
        "builtIn": 1,
        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
        "enable": True,
        "hide": True,
        "iconColor": "rgba(0, 211, 255, 1)",
        "name": "Annotations & Alerts",
        "type": "dashboard",
    }
    return [
        builtin,
        _prometheus_annotation(ctx, "Releases", new_version, "blue", "release {{version}}"),
        _prometheus_annotation(ctx, "Firing alerts", firing, "red", "{{alertname}}"),
    ]


def _prometheus_annotation(
    ctx: RenderContext, name: str, expr: str, color: str, title: str
) -> dict[str, Any]:
    return {
        "datasource": _datasource(ctx),
        "enable": True,
        "iconColor": color,
        "name": name,
        "expr": expr,
        "step": "30s",
        "titleFormat": title,
        "tagKeys": "version",
        "useValueForTime": False,
    }


def dashboard(ctx: RenderContext) -> dict[str, Any]:
    """The whole dashboard object."""
    return {
        "uid": f"moai-{ctx.instance}"[:40],
        "title": f"{ctx.name} / {ctx.environment}",
        "description": f"moai-deploy: {ctx.name} in {ctx.environment}, per version.",
        "tags": ["moai-deploy", ctx.name, ctx.environment],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "refresh": "10s",
        "time": {"from": "now-1h", "to": "now"},
        "annotations": {"list": release_annotations(ctx)},
        "templating": {"list": []},
        "panels": panels(ctx),
    }
