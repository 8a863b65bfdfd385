"""deploy, rollback, retry, down: the user's verbs, each locked, audited and recorded."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from moai_deploy.build.snapshot import create_snapshot, inspect_source
from moai_deploy.errors import BadInputError, LockedError, MoaiError
from moai_deploy.gates.model import GateRun
from moai_deploy.gates.release import record_gate_run
from moai_deploy.ledger._errors import LedgerWriteError
from moai_deploy.ledger.locks import LockRequest
from moai_deploy.ledger.models import ReleaseStatus
from moai_deploy.ledger.records import ReleaseRecord
from moai_deploy.pipeline.action_log import LoggingReporter, project_action_log
from moai_deploy.pipeline.analysis import check_providers
from moai_deploy.pipeline.hooks import around_release
from moai_deploy.pipeline.ports import check_ports
from moai_deploy.pipeline.preflight import (
    audit,
    refresh_monitoring,
    required_gates,
    store_artifacts,
    store_sbom,
)
from moai_deploy.pipeline.project import Project
from moai_deploy.pipeline.prune import prune_releases
from moai_deploy.pipeline.reconcile import mark_unrecorded, reconcile
from moai_deploy.rollout import release as rollout_release
from moai_deploy.rollout.context import ReleaseRequest
from moai_deploy.rollout.engine import RolloutEngine
from moai_deploy.rollout.lock import RolloutLock, actor
from moai_deploy.rollout.reporter import NullReporter, Reporter
from moai_deploy.runtime.base import Artifact
from moai_deploy.spec._types import check_version


@dataclass(frozen=True)
class DeployOptions:
    """How a deploy behaves around locks and unfinished releases."""

    lock_wait: float = 0.0
    resume: bool = False
    force_reason: str | None = None  # deploy although a required gate failed (audited)


def validate_version(version: str, option: str = "--version") -> str:
    """A user-given version label, or BadInputError (exit 2) with a fix."""
    try:
        return check_version(version)
    except ValueError as exc:
        fix = f"pass a label like `{option} 1.4.2` or `{option} v2-rc.1`"
        raise BadInputError(f"{option}: {exc}\n    fix: {fix}") from None


@contextmanager
def locked(
    project: Project, environment: str, request: LockRequest, options: DeployOptions
) -> Iterator[None]:
    """Hold the environment's lock; a dead holder's lock is taken over only to resume."""
    lock = RolloutLock(project.ledger, project.service, environment)
    try:
        with lock.hold(request, wait=options.lock_wait, take_over_dead=options.resume) as dead:
            if dead is not None:
                audit(project, environment, "lock_takeover", "succeeded", holder=dead.describe())
            yield
    except LedgerWriteError as exc:  # maybe our lock could not be released: the next run does
        raise mark_unrecorded(project, environment, None, exc) from None


def deploy(
    project: Project,
    environment: str,
    version: str | None = None,
    reporter: Reporter | None = None,
    options: DeployOptions | None = None,
) -> ReleaseRecord:
    """Release the project's current commit to `environment` with its strategy."""
    reporter, options = reporter or NullReporter(), options or DeployOptions()
    if options.resume:
        return resume(project, environment, reporter, options)
    if version is not None:
        version = validate_version(version)
    config = project.environment(environment)
    project.secrets().resolve(config.env)  # missing secrets are bad input: fail before any state
    check_providers(project.loaded, environment)  # not for rollbacks: metrics may be down
    check_ports(project, [environment])  # a port another program holds, too
    source = inspect_source(project.loaded.project_dir)
    version = version or source.default_version()
    if version is None:
        raise BadInputError(
            "the project is not a git repository, so there is no commit to name the "
            "release after\n    fix: pass --version VERSION"
        )
    if source.dirty:
        reporter.event("warning", message="uncommitted changes are not part of the release")
    reconcile(project, environment, reporter)  # a release whose end could not be recorded
    with locked(project, environment, LockRequest(actor(), "deploy", version), options):
        _refuse_unfinished(project, environment)
        gates = required_gates(project, environment, options.force_reason, reporter)
        snapshot = create_snapshot(
            project.loaded.project_dir, project.layout.releases, version, source.commit_sha
        )
        request = ReleaseRequest(version, source.commit_sha, snapshot, actor())
        return _run_new(project, environment, request, reporter, gates)


def _refuse_unfinished(project: Project, environment: str) -> None:
    for release in project.ledger.in_progress(project.service, environment)[:1]:
        raise LockedError(
            f"release #{release.id} ({release.version}) of {environment} is unfinished\n"
            "    fix: `moai-deploy deploy ENV --resume` continues it, "
            "`moai-deploy abort ENV` returns traffic to stable"
        )


def resume(
    project: Project, environment: str, reporter: Reporter, options: DeployOptions
) -> ReleaseRecord:
    """Continue the release a killed deployer left in progress, from its last step."""
    project.environment(environment)
    check_ports(project, [environment])
    with locked(project, environment, LockRequest(actor(), "resume"), options):
        release = active_release(project, environment, cleanup=True)
        engine = resume_engine(project, environment, release, reporter)
        return _run(project, environment, engine, "resume")


def active_release(project: Project, environment: str, *, cleanup: bool = False) -> ReleaseRecord:
    """The release in progress; with `cleanup`, also a live one whose plan did not finish
    (its deployer died after promotion, e.g. while waiting to scale the old version down)."""
    unfinished = project.ledger.in_progress(project.service, environment)
    if unfinished:
        return unfinished[0]
    live = project.ledger.live_release(project.service, environment)
    if cleanup and live is not None and not live.meta.get("rollout", {}).get("done", True):
        return live
    raise BadInputError(f"no release of {environment!r} is in progress")


def resume_engine(
    project: Project, environment: str, release: ReleaseRecord, reporter: Reporter
) -> RolloutEngine:
    config = project.environment(environment)
    reporter = LoggingReporter(reporter, project_action_log(project, environment))
    ctx = project.rollout_context(config, project.secrets(), reporter)
    ctx.runtime.preflight()
    project.ensure_router(environment)
    return rollout_release.resume(ctx, release, actor(), project.analysis_gateway(environment))


def _run_new(
    project: Project,
    environment: str,
    request: ReleaseRequest,
    reporter: Reporter,
    gates: GateRun | None = None,
) -> ReleaseRecord:
    with around_release(project, environment, request, reporter) as hooked:
        config = project.environment(environment)
        reporter = LoggingReporter(reporter, project_action_log(project, environment))
        ctx = project.rollout_context(config, project.secrets(), reporter)
        ctx.runtime.preflight()  # an unreachable engine fails before a release is recorded
        project.ensure_router(environment)
        engine = rollout_release.begin(ctx, request, project.analysis_gateway(environment))
        hooked.release_id = engine.release.id
        if gates is not None and gates.outcomes:
            record_gate_run(project.ledger, gates, project.service, engine.release.id)
        store_artifacts(project, environment, engine.release.id, request.version, reporter)
        try:
            return _run(project, environment, engine, request.action)
        finally:
            store_sbom(project, engine.release.id, reporter)
            refresh_monitoring(project, reporter)


def _run(project: Project, environment: str, engine: RolloutEngine, action: str) -> ReleaseRecord:
    version = engine.request.version
    try:
        release = engine.run()
    except LedgerWriteError as exc:  # undone, but not recorded: the next deploy records it
        raise mark_unrecorded(project, environment, engine.release.id, exc) from None
    except MoaiError as exc:
        audit(project, environment, action, "failed", version=version, error=str(exc))
        raise
    audit(project, environment, action, "succeeded", version=version, release=release.id)
    prune_releases(project)
    return release


def rollback(
    project: Project,
    environment: str,
    to: str | None = None,
    reporter: Reporter | None = None,
    options: DeployOptions | None = None,
) -> ReleaseRecord:
    """Back to the previous (or named) succeeded release, as a new release.

    A version among the last `releases.rollback_window` succeeded ones skips pauses and
    analysis: it already proved itself.
    """
    reporter, options = reporter or NullReporter(), options or DeployOptions()
    if to is not None:
        to = validate_version(to, "--to")
    config = project.environment(environment)
    project.secrets().resolve(config.env)
    check_ports(project, [environment])
    with locked(project, environment, LockRequest(actor(), "rollback", to), options):
        _refuse_unfinished(project, environment)
        live = project.ledger.live_release(project.service, environment)
        if live is None:
            raise BadInputError(f"nothing is deployed to {environment!r}, so there is no rollback")
        target, in_window = _rollback_target(project, live, to)
        request = ReleaseRequest(
            target.version,
            target.commit_sha,
            _snapshot_for(project, target),
            actor(),
            rollback_of=live.id,
            action="rollback",
            skip_analysis=in_window,
            artifact=Artifact.recorded(target.meta),
        )
        return _run_new(project, environment, request, reporter)


def _rollback_target(
    project: Project, live: ReleaseRecord, to: str | None
) -> tuple[ReleaseRecord, bool]:
    succeeded = project.ledger.succeeded_releases(project.service, live.environment)
    earlier = [r for r in succeeded if r.id != live.id]
    window = {r.version for r in earlier[: project.loaded.spec.releases.rollback_window]}
    for release in earlier:
        if (to is None and release.version != live.version) or release.version == to:
            return release, release.version in window
    wanted = f"version {to!r}" if to else "an earlier version"
    known = ", ".join(sorted({r.version for r in earlier})) or "none"
    where = f"in {live.environment!r} to roll back to (succeeded earlier releases: {known})"
    raise BadInputError(f"no succeeded release of {wanted} {where}")


def _snapshot_for(project: Project, release: ReleaseRecord) -> Path:
    if release.artifact and Path(release.artifact).is_dir():
        return Path(release.artifact)
    if release.commit_sha is None:
        raise BadInputError(
            f"the snapshot of {release.version} was pruned and it has no commit to rebuild from"
        )
    return create_snapshot(
        project.loaded.project_dir, project.layout.releases, release.version, release.commit_sha
    )


def retry(
    project: Project,
    environment: str,
    reporter: Reporter | None = None,
    options: DeployOptions | None = None,
) -> ReleaseRecord:
    """Run the latest aborted or failed release again, from its own snapshot."""
    reporter, options = reporter or NullReporter(), options or DeployOptions()
    check_providers(project.loaded, project.environment(environment).name)
    check_ports(project, [environment])
    latest = project.ledger.list_releases(project.service, environment, limit=1)
    if not latest or latest[0].status not in (ReleaseStatus.ABORTED, ReleaseStatus.FAILED):
        raise BadInputError(f"the latest release of {environment!r} is not aborted or failed")
    failed = latest[0]
    with locked(project, environment, LockRequest(actor(), "retry", failed.version), options):
        _refuse_unfinished(project, environment)
        request = ReleaseRequest(
            failed.version,
            failed.commit_sha,
            _snapshot_for(project, failed),
            actor(),
            action="retry",
            artifact=Artifact.recorded(failed.meta),
        )
        return _run_new(project, environment, request, reporter)


def down(project: Project, environment: str, options: DeployOptions | None = None) -> int:
    """Stop every instance of `environment`, its route and its router; idle daemons too."""
    project.environment(environment)  # unknown name is bad input
    with locked(project, environment, LockRequest(actor(), "down"), options or DeployOptions()):
        runtime = project.runtime_for(environment)
        instances = runtime.list(project.service, environment)
        if project.router_running(environment):
            project.router_for(environment).remove(project.route(environment))
        runtime.stop([i.name for i in instances])
        project.stop_router(environment)
        if not any(driver.list() for driver in project.runtimes()):
            for driver in project.runtimes():
                driver.shutdown_if_idle()
            project.routers.stop_legacy()
        audit(project, environment, "down", "succeeded", stopped=len(instances))
        return len(instances)
