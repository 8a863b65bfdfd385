"""Before and around a release: the gates it must pass, the artifacts it renders to."""

from __future__ import annotations

import shutil

from moai_deploy.errors import ReleaseFailedError
from moai_deploy.gates.model import GateResult, GateRun
from moai_deploy.gates.release import check_release_gates, refusal_message
from moai_deploy.ledger.store import Ledger
from moai_deploy.pipeline.project import Project
from moai_deploy.rollout.lock import actor
from moai_deploy.rollout.reporter import Reporter

_SBOM_ROOM = 4 * 1024 * 1024  # an SBOM is tens to hundreds of KB


def audit(project: Project, environment: str, action: str, outcome: str, **detail: object) -> None:
    """Append one event to the audit log (and to the action log in the state folder)."""
    from moai_deploy.pipeline.action_log import project_action_log

    project_action_log(project, environment).write(
        "audit", action=action, outcome=outcome, detail=detail
    )
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

    def progress(event: str, gate: str, result: GateResult | None) -> None:
        # Each gate as a step: the output shows which one runs, how long, how it ended.
        if result is None:
            reporter.step_started(f"gate {gate}", "running")
        else:
            ok = result.status.value in ("passed", "skipped")
            took = "cached" if result.cached else f"{len(result.findings)} finding(s)"
            reporter.step_finished(f"gate {gate}", "succeeded" if ok else "failed",
                                   f"{result.status.value}, {took}")  # fmt: skip

    run = check_release_gates(
        project.loaded.project_dir, project.loaded.spec, environment, project.layout,
        progress=progress,
    )  # fmt: skip
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


def store_sbom(project: Project, release_id: int, reporter: Reporter) -> None:
    """Keep a CycloneDX SBOM of the release's artifact with the release (after its rollout,
    whatever the outcome, once its build step recorded the artifact). A failure is a
    warning: the SBOM describes the release, it does not gate it."""
    from moai_deploy.paths import default_cache_dir
    from moai_deploy.runtime.base import Artifact
    from moai_deploy.sbom.artifact import sbom_of_artifact
    from moai_deploy.sbom.store import store_sbom as keep

    release = project.ledger.get_release(release_id)
    artifact = Artifact.from_meta(release.meta.get("artifact") or {})
    if artifact is None:
        return  # the release stopped before its artifact was built
    if shutil.disk_usage(project.layout.root).free < _SBOM_ROOM:  # it could not be kept
        reporter.event("warning", message="SBOM not stored: the state folder's disk is full")
        return
    try:
        bom = sbom_of_artifact(
            project.driver(artifact.runtime),
            artifact,
            project.service,
            release.environment,
            default_cache_dir(),
        )
    except Exception as exc:  # never let the SBOM mask the rollout's own outcome
        reporter.event("warning", message=f"SBOM not stored: {exc}")
        return
    try:
        path = keep(project.layout.root, release_id, bom)
    except OSError as exc:  # e.g. a full disk: the rollout's outcome stands
        reporter.event("warning", message=f"SBOM not stored: {exc}")
        return
    reporter.event("sbom", path=str(path), components=len(bom.get("components", [])))


def refresh_monitoring(project: Project, reporter: Reporter) -> None:
    """When `monitor up` runs: scrape targets and rules rewritten, Prometheus reloaded."""
    from moai_deploy.errors import MoaiError
    from moai_deploy.monitor.stack import refresh

    try:
        refresh(project)
    except MoaiError as exc:
        reporter.event("warning", message=f"monitoring not refreshed: {exc}")
