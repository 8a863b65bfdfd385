"""DORA metrics from the ledger: deployment frequency, lead time for changes, change
failure rate and time to restore, over a window, beside the seed's targets.

Definitions (per environment, production by default):
- a *change* is a release that is not a rollback; it *went live* when it succeeded
  (its `finished_at`; a release later rolled back also went live);
- deployment frequency: changes that went live, per week of the window;
- lead time: commit time (from git) -> live, median over the changes that went live;
- change failure rate: changes that failed, were aborted or were rolled back, over all
  finished changes;
- time to restore: an aborted/failed change, from the start of the step that failed to
  the release's end (traffic back on stable); a rolled-back change, from the rollback's
  creation to the rollback being live. Median.
"""

from __future__ import annotations

import statistics
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from moai_deploy.ledger.records import ReleaseRecord
from moai_deploy.ledger.store import Ledger

TARGETS = {
    "deploy_frequency_per_week": (10.0, "above"),
    "lead_time_seconds": (3600.0, "below"),
    "change_failure_rate": (0.05, "below"),
    "time_to_restore_seconds": (900.0, "below"),
}
_FAILED = frozenset({"failed", "aborted", "rolled_back"})
_LIVE = frozenset({"succeeded", "rolled_back"})


@lru_cache(maxsize=4096)
def commit_time(project_dir: Path, sha: str) -> datetime | None:
    """When `sha` was committed, from git; None if git does not know it."""
    result = subprocess.run(
        ["git", "-C", str(project_dir), "show", "-s", "--format=%ct", sha, "--"],
        capture_output=True,
        text=True,
        check=False,
    )
    text = result.stdout.strip()
    return (
        datetime.fromtimestamp(int(text), UTC)
        if result.returncode == 0 and text.isdigit()
        else None
    )


@dataclass(frozen=True)
class DoraReport:
    environment: str
    days: float
    deployments: int
    deploy_frequency_per_week: float
    lead_time_seconds: float | None
    change_failure_rate: float | None
    time_to_restore_seconds: float | None
    failures: int
    changes: int

    def to_dict(self) -> dict[str, Any]:
        metrics: dict[str, Any] = {}
        for name, (target, direction) in TARGETS.items():
            value = getattr(self, name)
            met = None
            if value is not None:
                met = value > target if direction == "above" else value < target
            metrics[name] = {"value": value, "target": target, "direction": direction, "met": met}
        return {
            "environment": self.environment,
            "days": self.days,
            "deployments": self.deployments,
            "changes": self.changes,
            "failures": self.failures,
            "metrics": metrics,
        }


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _restore_seconds(
    ledger: Ledger, release: ReleaseRecord, releases: list[ReleaseRecord]
) -> float | None:
    if release.status == "rolled_back":
        restore = next((r for r in releases if r.rollback_of == release.id), None)
        if restore is None or restore.finished_at is None or restore.status != "succeeded":
            return None
        return (restore.finished_at - restore.created_at).total_seconds()
    steps = ledger.steps(release.id)
    if not steps or release.finished_at is None:
        return None
    return max(0.0, (release.finished_at - steps[-1].started_at).total_seconds())


@dataclass(frozen=True)
class DoraScope:
    """Whose releases: one service's environment, and the git folder its commits are in."""

    ledger: Ledger
    service: str
    environment: str
    project_dir: Path


def dora(scope: DoraScope, days: float = 7.0, now: datetime | None = None) -> DoraReport:
    """The four DORA metrics of `environment` over the last `days`."""
    ledger, environment = scope.ledger, scope.environment
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    everything = ledger.list_releases(scope.service, environment, limit=100_000)
    releases = [r for r in everything if r.created_at >= since]
    changes = [
        r for r in releases if r.rollback_of is None and r.status not in ("pending", "in_progress")
    ]
    live = [r for r in changes if r.status in _LIVE and r.finished_at is not None]
    failures = [r for r in changes if r.status in _FAILED]
    lead = []
    for release in live:
        committed = (
            commit_time(scope.project_dir, release.commit_sha) if release.commit_sha else None
        )
        if committed is not None and release.finished_at is not None:
            lead.append(max(0.0, (release.finished_at - committed).total_seconds()))
    restores = [s for r in failures if (s := _restore_seconds(ledger, r, everything)) is not None]
    return DoraReport(
        environment=environment,
        days=days,
        deployments=len(live),
        deploy_frequency_per_week=len(live) * 7.0 / days,
        lead_time_seconds=_median(lead),
        change_failure_rate=len(failures) / len(changes) if changes else None,
        time_to_restore_seconds=_median(restores),
        failures=len(failures),
        changes=len(changes),
    )


def dora_report(project: Any, environment: str, days: float) -> DoraReport:
    """`dora` for a Project (its ledger, service and folder)."""
    scope = DoraScope(project.ledger, project.service, environment, project.loaded.project_dir)
    return dora(scope, days)
