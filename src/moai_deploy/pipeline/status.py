"""What is running where, read live from the runtime, the router and the ledger."""

from __future__ import annotations

from moai_deploy.ledger.controls import ControlLog
from moai_deploy.ledger.journal_models import ControlKind
from moai_deploy.ledger.records import ReleaseRecord
from moai_deploy.pipeline.project import Project
from moai_deploy.pipeline.status_view import EnvironmentStatus, InstanceView, last_step_text
from moai_deploy.rollout.controls import ENGINE_ACTOR
from moai_deploy.rollout.health import is_ready

__all__ = ["EnvironmentStatus", "InstanceView", "environment_status"]

SHARED_ROUTER_NOTE = (
    "served by the router an older moai-deploy shared between environments; the next "
    "deploy, rollback or retry gives this environment its own"
)


def environment_status(project: Project, environment: str) -> EnvironmentStatus:
    """Live view of one environment (probes each running instance's readiness)."""
    service = project.loaded.spec.service
    ready_path, accept = service.ready_path, service.ready_status
    views = [
        InstanceView(i, i.state.alive and is_ready(i.url, ready_path, accept=accept))
        for i in project.runtime_for(environment).list(project.service, environment)
    ]
    routing = project.router_for(environment).current(project.route(environment))
    own_router = project.router_running(environment)
    shared = None if own_router else project.shared_router_serving(environment)
    if shared is not None:  # an older version's router for every environment, until handed over
        routing = shared.router.current(project.route(environment))
    host = project.loaded.spec.traffic.host
    unfinished = project.ledger.in_progress(project.service, environment)
    paused, continue_with = (
        _pause(project, unfinished[0], environment) if unfinished else (None, None)
    )
    live = project.ledger.live_release(project.service, environment)
    serving = own_router or shared is not None
    router = "serving" if serving else "down" if live or views else "idle"
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
        router_note=SHARED_ROUTER_NOTE if shared is not None else None,
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
    return last_step_text(project.ledger.steps(release_id))
