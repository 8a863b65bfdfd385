"""The `monitoring:` section: the seed's four alerts, scrape settings and the post-deploy watch.

`monitoring:` at the top level holds the defaults; `defaults.monitoring` and
`environments.NAME.monitoring` override any key of it (e.g. a shorter `for` in a test
environment), merged key by key.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from moai_deploy.spec._base import Section
from moai_deploy.spec._types import Seconds
from moai_deploy.spec.analysis import AnalysisSpec

Severity = Literal["critical", "warning", "info"]
Fraction = Annotated[float, Field(gt=0, le=1)]


class ErrorRateAlert(Section):
    """HighErrorRate: the share of 5xx answers of one version stays above `threshold`."""

    enabled: bool = Field(default=True, description="Render this alert.")
    threshold: Fraction = Field(default=0.05, description="5xx share above which it fires.")
    duration: Seconds = Field(
        default=300.0, description="How long it must hold before firing (Prometheus `for`)."
    )
    severity: Severity = Field(default="critical", description="The alert's severity label.")


class LatencyAlert(Section):
    """HighLatencyP95: the 95th percentile of one version's answer time stays above `threshold`."""

    enabled: bool = Field(default=True, description="Render this alert.")
    threshold: Seconds = Field(default=1.0, description="p95 answer time above which it fires.")
    duration: Seconds = Field(
        default=600.0, description="How long it must hold before firing (Prometheus `for`)."
    )
    severity: Severity = Field(default="warning", description="The alert's severity label.")


class CrashLoopAlert(Section):
    """CrashLooping: an instance restarted `threshold` times or more within `window`."""

    enabled: bool = Field(default=True, description="Render this alert.")
    threshold: Annotated[int, Field(ge=1)] = Field(
        default=3, description="Restarts (process start time changes) within the window."
    )
    window: Seconds = Field(default=900.0, description="Window the restarts are counted in.")
    duration: Seconds = Field(
        default=0.0, description="How long it must hold before firing (Prometheus `for`)."
    )
    severity: Severity = Field(default="critical", description="The alert's severity label.")


class MemoryAlert(Section):
    """HighMemoryUsage: an instance's resident memory stays above `threshold` of its limit."""

    enabled: bool = Field(default=True, description="Render this alert.")
    threshold: Fraction = Field(
        default=0.9, description="Share of `targets.resources.memory_limit` above which it fires."
    )
    duration: Seconds = Field(
        default=300.0, description="How long it must hold before firing (Prometheus `for`)."
    )
    severity: Severity = Field(default="warning", description="The alert's severity label.")


class AlertsSpec(Section):
    """The seed's four alerts, each with its threshold, duration and severity."""

    high_error_rate: ErrorRateAlert = Field(default_factory=ErrorRateAlert)
    high_latency: LatencyAlert = Field(default_factory=LatencyAlert)
    crash_looping: CrashLoopAlert = Field(default_factory=CrashLoopAlert)
    high_memory: MemoryAlert = Field(default_factory=MemoryAlert)


class WatchSpec(Section):
    """The post-deploy watch: after promotion, the release stays under watch this long; a
    firing alert or a failed analysis in that window rolls it back."""

    duration: Seconds = Field(
        default=0.0, description="How long to watch after promotion (0 = no watch; seed: 5m)."
    )
    alerts: bool = Field(
        default=True,
        description="Roll back when one of the rendered alerts fires for the new version "
        "(needs `moai-deploy monitor up`).",
    )
    analysis: AnalysisSpec | None = Field(
        default=None, description="Analysis repeated over the watch; a failure rolls back."
    )
    poll_interval: Seconds = Field(
        default=5.0, description="How often the watch asks Prometheus for firing alerts."
    )


class MonitoringSpec(Section):
    """Alerting rules, dashboards and the local monitoring stack (`moai-deploy monitor`)."""

    alerts: AlertsSpec = Field(default_factory=AlertsSpec, description="The four alerts.")
    rate_window: Seconds = Field(
        default=300.0, description="Window of the rate() in alert and dashboard queries."
    )
    scrape_interval: Seconds = Field(
        default=15.0, description="How often the local Prometheus scrapes (monitor up)."
    )
    evaluation_interval: Seconds = Field(
        default=15.0, description="How often alerting rules are evaluated."
    )
    watch: WatchSpec = Field(default_factory=WatchSpec, description="Post-deploy watch.")
    datasource: str = Field(
        default="prometheus", description="UID of the Grafana data source the dashboard uses."
    )


def _merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def merged_monitoring(base: MonitoringSpec, *overlays: MonitoringSpec | None) -> MonitoringSpec:
    """`base` with each overlay's explicitly set keys applied, key by key."""
    data = base.model_dump(exclude_unset=True)
    for overlay in overlays:
        if overlay is not None:
            data = _merge(data, overlay.model_dump(exclude_unset=True))
    return MonitoringSpec.model_validate(data)
