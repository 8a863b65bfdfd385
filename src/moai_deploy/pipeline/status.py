"""What is running where, read live from the runtime, the router and the ledger."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from moai_deploy.ledger.controls import ControlLog
from moai_deploy.ledger.journal_models import ControlKind
from moai_deploy.ledger.records import ReleaseRecord
from moai_deploy.pipeline.project import Project
from moai_deploy.rollout.controls import ENGINE_ACTOR
from moai_deploy.rollout.health import is_ready
from moai_deploy.runtime.base import InstanceState, InstanceStatus


@dataclass(frozen=True)
class InstanceView:
    status: InstanceStatus
    ready: bool

    def to_dict(self) -> dict[str, Any]:
        s = self.status
        return {
            "name": s.name,
            "version": s.version,
            "group": s.group,
            "pid": s.pid,
            "port": s.port,
            "state": s.state.value,
            "ready": self.ready,
            "detail": s.detail,
            "log_file": str(s.log_file) if s.log_file else None,
        }


@dataclass(frozen=True)
class EnvironmentStatus:
    environment: str
    url: str
    live: ReleaseRecord | None
    unfinished: list[ReleaseRecord]
    instances: list[InstanceView]
    weights: dict[str, int] = field(default_factory=dict)
    stopped_at: str | None = None  # the unfinished release's last step, and its outcome
    paused: str | None = None  # why the unfinished release is paused
    continue_with: str | None = None  # the command that continues it
    router: str = "idle"  # serving | down (a release is live but nothing routes) | idle

    @property
    def router_down(self) -> bool:
        return self.router == "down"

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "url": self.url,
            "live": self.live.to_dict() if self.live else None,
            "unfinished": [r.to_dict() for r in self.unfinished],
            "instances": [i.to_dict() for i in self.instances],
            "weights": self.weights,
            "stopped_at": self.stopped_at,
            "paused": self.paused,
            "continue_with": self.continue_with,
            "router": self.router,
        }


def environment_status(project: Project, environment: str) -> EnvironmentStatus:
    """Live view of one environment (probes each running instance's readiness)."""
    service = project.loaded.spec.service
    ready_path, accept = service.ready_path, service.ready_status
    views = [
        InstanceView(
            i, i.state is InstanceState.RUNNING and is_ready(i.url, ready_path, accept=accept)
        )
        for i in project.runtime_for(environment).list(project.service, environment)
    ]
    routing = project.router.current(project.route(environment))
    host = project.loaded.spec.traffic.host
    unfinished = project.ledger.in_progress(project.service, environment)
    paused, continue_with = (
        _pause(project, unfinished[0], environment) if unfinished else (None, None)
    )
    live = project.ledger.live_release(project.service, environment)
    router = "serving" if project.router_running() else "down" if live or views else "idle"
    return EnvironmentStatus(
        environment=environment,
        url=f"http://{host}:{project.loaded.spec.port_of(environment)}",
        live=live,
        unfinished=unfinished,
        instances=views,
        weights=routing.weights() if routing else {},
        stopped_at=_last_step(project, unfinished[0].id) if unfinished else None,
        paused=paused,
        continue_with=continue_with,
        router=router,
    )


def _pause(
    project: Project, release: ReleaseRecord, environment: str
) -> tuple[str | None, str | None]:
    """The pause reason and how to continue: `promote` after the engine's own pause (an
    inconclusive analysis), `resume` after someone's pause request."""
    reason = (release.meta.get("rollout") or {}).get("paused_reason")
    if not reason:
        return None, None
    pauses = [
        r for r in ControlLog(project.ledger).history(release.id) if r.kind is ControlKind.PAUSE
    ]
    by_engine = bool(pauses) and pauses[-1].actor == ENGINE_ACTOR
    verb = "promote" if by_engine else "resume"
    return str(reason), f"moai-deploy {verb} {environment}"


def _last_step(project: Project, release_id: int) -> str | None:
    """Where an unfinished release is (or where its killed deployer left it)."""
    steps = project.ledger.steps(release_id)
    if not steps:
        return None
    last = steps[-1]
    return f"step {last.sequence} {last.kind} ({last.outcome}): {last.detail}".strip()
