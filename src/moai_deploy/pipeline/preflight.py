"""Before and around a release: the gates it must pass, the artifacts it renders to."""

from __future__ import annotations

from moai_deploy.errors import ReleaseFailedError
from moai_deploy.gates.model import GateRun
from moai_deploy.gates.release import check_release_gates, refusal_message
from moai_deploy.ledger.store import Ledger
from moai_deploy.pipeline.project import Project
from moai_deploy.rollout.lock import actor
from moai_deploy.rollout.reporter import Reporter


def audit(project: Project, environment: str, action: str, outcome: str, **detail: object) -> None:
    """Append one event to the audit log."""
    ledger: Ledger = project.ledger
    ledger.record_audit(
        actor=actor(),
        action=action,
        target=f"{project.service}/{environment}",
        outcome=outcome,
        service=project.service,
        environment=environment,
        detail=detail,
    )


def required_gates(
    project: Project, environment: str, force_reason: str | None, reporter: Reporter
) -> GateRun:
    """The gates the environment requires, run (or reused from cache) before anything ships."""
    run = check_release_gates(
        project.loaded.project_dir, project.loaded.spec, environment, project.layout
    )
    if run.outcomes:
        summary = ", ".join(f"{o.result.gate}={o.result.status.value}" for o in run.outcomes)
        reporter.event("gates", passed=run.passed, summary=summary)
    if run.passed:
        return run
    blocking = [o.result.gate for o in run.blocking]
    if force_reason is None:
        audit(project, environment, "deploy", "refused", gates=blocking)
        raise ReleaseFailedError(refusal_message(run))
    audit(project, environment, "force", "succeeded", reason=force_reason, gates=blocking)
    reporter.event("warning", message=f"forced past failing gates {blocking}: {force_reason}")
    return run


def store_artifacts(
    project: Project, environment: str, release_id: int, version: str, reporter: Reporter
) -> None:
    """Keep what this release renders to, so `diff --against RELEASE` can compare later."""
    from moai_deploy.render import render
    from moai_deploy.render.artifacts import store_release_artifacts

    try:
        files = render(project.loaded.spec, environment, version)
    except Exception as exc:
        reporter.event("warning", message=f"rendered artifacts not stored: {exc!r}")
        return
    store_release_artifacts(project.layout.root, release_id, files)
