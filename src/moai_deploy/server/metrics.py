"""`GET /metrics`: the ledger as Prometheus metrics, computed at scrape time.

Releases by status, deploy duration histogram, rollbacks, analysis verdicts and the DORA
gauges, per environment. Read-only and free of secrets, so it needs no token (as
Prometheus scrapes expect).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from moai_deploy.ledger.models import ReleaseStatus
from moai_deploy.ledger.records import ReleaseRecord
from moai_deploy.ledger.store import Ledger
from moai_deploy.observe.dora import DoraScope, dora
from moai_deploy.service import ControlService

router = APIRouter(tags=["server"])
DURATION_BUCKETS = (5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
DORA_DAYS = 7.0


class LedgerCollector(Collector):
    """Reads the ledger on every scrape (one query per environment)."""

    def __init__(self, service: ControlService) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        project = self.service.project()
        ledger, name = project.ledger, project.service
        status = GaugeMetricFamily(
            "moai_releases", "Releases by status", labels=["environment", "status"]
        )
        duration = HistogramMetricFamily(
            "moai_deploy_duration_seconds",
            "Start to finish of finished releases",
            labels=["environment"],
        )
        rollbacks = GaugeMetricFamily(
            "moai_rollbacks", "Rollback releases recorded", labels=["environment"]
        )
        verdicts = GaugeMetricFamily(
            "moai_analysis_verdicts", "Analysis steps by outcome", labels=["environment", "verdict"]
        )
        gauges = _dora_families()
        for environment in project.loaded.spec.environments:
            releases = ledger.list_releases(name, environment, limit=100_000)
            counts = Counter(r.status for r in releases)
            for value in ReleaseStatus:
                status.add_metric([environment, value.value], counts.get(value.value, 0))
            seconds = [
                (r.finished_at - r.started_at).total_seconds()
                for r in releases
                if r.finished_at is not None and r.started_at is not None
            ]
            duration.add_metric([environment], _buckets(seconds), sum(seconds))
            rollbacks.add_metric([environment], sum(1 for r in releases if r.rollback_of))
            for verdict, count in _verdicts(ledger, releases[:200]).items():
                verdicts.add_metric([environment, verdict], count)
            scope = DoraScope(ledger, name, environment, project.loaded.project_dir)
            _add_dora(gauges, environment, scope)
        yield from (status, duration, rollbacks, verdicts, *gauges.values())


def _buckets(values: list[float]) -> list[tuple[str, float]]:
    found = [
        (str(bound), float(sum(1 for v in values if v <= bound))) for bound in DURATION_BUCKETS
    ]
    return [*found, ("+Inf", float(len(values)))]


def _verdicts(ledger: Ledger, releases: list[ReleaseRecord]) -> Counter[str]:
    verdicts: Counter[str] = Counter()
    for release in releases:
        for step in ledger.steps(release.id):
            if step.kind == "analysis" and step.outcome != "running":
                verdicts[step.outcome] += 1
    return verdicts


def _dora_families() -> dict[str, GaugeMetricFamily]:
    help_text = {
        "deploy_frequency_per_week": "Changes live per week (DORA), last 7 days",
        "lead_time_seconds": "Median commit-to-live time (DORA), last 7 days",
        "change_failure_rate": "Share of changes that failed or were rolled back (DORA)",
        "time_to_restore_seconds": "Median time to restore service (DORA), last 7 days",
    }
    return {
        key: GaugeMetricFamily(f"moai_dora_{key}", text, labels=["environment"])
        for key, text in help_text.items()
    }


def _add_dora(gauges: dict[str, GaugeMetricFamily], environment: str, scope: DoraScope) -> None:
    report = dora(scope, DORA_DAYS)
    for key, family in gauges.items():
        value = getattr(report, key)
        if value is not None:
            family.add_metric([environment], float(value))


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus text exposition of the ledger's metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LedgerCollector(request.app.state.service))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
