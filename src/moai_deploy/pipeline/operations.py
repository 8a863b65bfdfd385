"""deploy, rollback, down: the user's verbs, each locked, audited and recorded."""

from __future__ import annotations

from pathlib import Path

from moai_deploy.build.snapshot import create_snapshot, inspect_source, prune_snapshots
from moai_deploy.errors import BadInputError, MoaiError
from moai_deploy.ledger.records import ReleaseRecord
from moai_deploy.pipeline.project import Project
from moai_deploy.rollout.bluegreen import BlueGreenRollout
from moai_deploy.rollout.context import ReleaseRequest
from moai_deploy.rollout.lock import actor, rollout_lock
from moai_deploy.rollout.reporter import NullReporter, Reporter
from moai_deploy.spec._types import check_version


def validate_version(version: str) -> str:
    """A user-given version label, or BadInputError (exit 2)."""
    try:
        return check_version(version)
    except ValueError as exc:
        raise BadInputError(f"--version: {exc}") from None


def deploy(
    project: Project, environment: str, version: str | None = None, reporter: Reporter | None = None
) -> ReleaseRecord:
    """Release the project's current commit to `environment` (blue-green)."""
    reporter = reporter or NullReporter()
    if version is not None:
        version = validate_version(version)
    config = project.environment(environment)
    project.secrets().resolve(config.env)  # missing secrets are bad input: fail before any state
    source = inspect_source(project.loaded.project_dir)
    if version is None:
        version = source.default_version()
        if version is None:
            raise BadInputError(
                "the project is not a git repository, so there is no commit to name the "
                "release after\n    fix: pass --version VERSION"
            )
    version = validate_version(version)
    if source.dirty:
        reporter.event("warning", message="uncommitted changes are not part of the release")
    with rollout_lock(project.layout.locks, project.service, environment, f"deploy {version}"):
        snapshot = create_snapshot(
            project.loaded.project_dir, project.layout.releases, version, source.commit_sha
        )
        request = ReleaseRequest(version, source.commit_sha, snapshot, actor())
        return _release(project, environment, request, reporter)


def rollback(
    project: Project, environment: str, to: str | None = None, reporter: Reporter | None = None
) -> ReleaseRecord:
    """Switch back to the previous (or the named) succeeded release, as a new release."""
    reporter = reporter or NullReporter()
    if to is not None:
        to = validate_version(to)
    config = project.environment(environment)
    project.secrets().resolve(config.env)
    with rollout_lock(project.layout.locks, project.service, environment, "rollback"):
        live = project.ledger.live_release(project.service, environment)
        if live is None:
            raise BadInputError(f"nothing is deployed to {environment!r}, so there is no rollback")
        target = _rollback_target(project, live, to)
        snapshot = _snapshot_for(project, target)
        request = ReleaseRequest(
            target.version, target.commit_sha, snapshot, actor(), live.id, action="rollback"
        )
        return _release(project, environment, request, reporter)


def _rollback_target(project: Project, live: ReleaseRecord, to: str | None) -> ReleaseRecord:
    earlier = [
        r
        for r in project.ledger.succeeded_releases(project.service, live.environment)
        if r.id != live.id
    ]
    for release in earlier:
        if (to is None and release.version != live.version) or release.version == to:
            return release
    wanted = f"version {to!r}" if to else "an earlier version"
    known = ", ".join(sorted({r.version for r in earlier})) or "none"
    raise BadInputError(
        f"no succeeded release of {wanted} in {live.environment!r} to roll back to "
        f"(succeeded earlier releases: {known})"
    )


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


def _release(
    project: Project, environment: str, request: ReleaseRequest, reporter: Reporter
) -> ReleaseRecord:
    config = project.environment(environment)
    secrets = project.secrets()
    project.traefik.ensure_running()
    ctx = project.rollout_context(config, secrets, reporter)
    target = f"{project.service}/{environment}@{request.version}"
    try:
        release = BlueGreenRollout(ctx, request).run()
    except MoaiError as exc:
        project.ledger.record_audit(
            actor=request.actor,
            action=request.action,
            target=target,
            outcome="failed",
            service=project.service,
            environment=environment,
            detail={"error": str(exc)},
        )
        raise
    project.ledger.record_audit(
        actor=request.actor,
        action=request.action,
        target=target,
        outcome="succeeded",
        service=project.service,
        environment=environment,
        detail={"release": release.id},
    )
    _prune(project)
    return release


def _prune(project: Project) -> None:
    """Keep the newest snapshots, never one that a live or unfinished release uses.

    A pruned snapshot of a git project is rebuilt from its commit when rolled back to.
    """
    protected: set[Path] = set()
    for environment in project.loaded.spec.environments:
        live = project.ledger.live_release(project.service, environment)
        running = project.ledger.in_progress(project.service, environment)
        for release in [live, *running]:
            if release is not None and release.artifact:
                protected.add(Path(release.artifact).resolve())
    keep = project.loaded.spec.releases.keep
    prune_snapshots(project.layout.releases, keep, protected)


def down(project: Project, environment: str) -> int:
    """Stop every instance of `environment` and its route; stop daemons left idle."""
    project.environment(environment)  # unknown name is bad input
    with rollout_lock(project.layout.locks, project.service, environment, "down"):
        instances = project.runtime.list(project.service, environment)
        if project.traefik.is_running():
            project.router.remove(project.route(environment))
        project.runtime.stop([i.name for i in instances])
        if not project.runtime.list():
            project.runtime.shutdown_if_idle()
            project.traefik.stop()
        project.ledger.record_audit(
            actor=actor(),
            action="down",
            target=f"{project.service}/{environment}",
            outcome="succeeded",
            service=project.service,
            environment=environment,
            detail={"stopped": len(instances)},
        )
        return len(instances)
