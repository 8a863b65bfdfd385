"""abort, promote, pause, resume: requests to a rollout, honoured by its deployer or here.

A running deployer polls its release's control requests; when no live process holds the
environment's lock (the deployer was killed), the command does the work itself.
"""

from __future__ import annotations

import contextlib
import time

from moai_deploy.errors import ReleaseFailedError
from moai_deploy.ledger import locks
from moai_deploy.ledger.controls import ControlLog
from moai_deploy.ledger.journal_models import ControlKind
from moai_deploy.ledger.locks import LockRequest
from moai_deploy.ledger.records import ReleaseRecord
from moai_deploy.pipeline import operations
from moai_deploy.pipeline.operations import DeployOptions, active_release
from moai_deploy.pipeline.preflight import audit
from moai_deploy.pipeline.project import Project
from moai_deploy.rollout.lock import actor
from moai_deploy.rollout.plan import Situation, describe_promote, plan
from moai_deploy.rollout.reporter import NullReporter, Reporter
from moai_deploy.rollout.state import RolloutState
from moai_deploy.rollout.undo import UNFINISHED

_DEPLOYER_GRACE = 15.0  # how long a live deployer gets to act on a request


def _deployer_alive(project: Project, environment: str) -> bool:
    held = locks.current(project.ledger, project.service, environment)
    return held is not None and held.pid is not None and held.holder_alive() is not False


def _request(
    project: Project, release: ReleaseRecord, kind: ControlKind, reason: str | None = None
) -> None:
    """Append to the release's control log: never overwrites another request."""
    ControlLog(project.ledger).request(release.id, kind, actor(), reason)


def abort(project: Project, environment: str, reporter: Reporter | None = None) -> ReleaseRecord:
    """Traffic back to stable at once; the release ends `aborted`."""
    reporter = reporter or NullReporter()
    project.environment(environment)
    release = active_release(project, environment)
    _request(project, release, ControlKind.ABORT)
    audit(project, environment, "abort", "requested", release=release.id)
    if _deployer_alive(project, environment):
        done = _wait_finished(project, release.id, _DEPLOYER_GRACE)
        if done is not None:
            return done
    with operations.locked(
        project, environment, LockRequest(actor(), "abort"), DeployOptions(resume=True)
    ):
        engine = operations.resume_engine(project, environment, release, reporter)
        with contextlib.suppress(ReleaseFailedError):
            engine.run()  # the first checkpoint sees the abort request and undoes
    return project.ledger.get_release(release.id)


def _wait_finished(project: Project, release_id: int, timeout: float) -> ReleaseRecord | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        release = project.ledger.get_release(release_id)
        if release.status not in UNFINISHED:
            return release
        time.sleep(0.1)
    return None


def promote(
    project: Project, environment: str, full: bool = False, reporter: Reporter | None = None
) -> ReleaseRecord:
    """Skip the current pause (or every remaining step with `full`)."""
    project.environment(environment)
    release = active_release(project, environment)
    how = "full" if full else "step"
    _request(project, release, ControlKind.PROMOTE_FULL if full else ControlKind.PROMOTE)
    audit(project, environment, "promote", "requested", release=release.id, how=how)
    (reporter or NullReporter()).event(
        "promote_plan", summary=promote_summary(project, release, full)
    )
    if _deployer_alive(project, environment):
        return project.ledger.get_release(release.id)
    # Nobody is driving the rollout: continue it here.
    return operations.resume(project, environment, reporter or NullReporter(), DeployOptions())


def promote_summary(project: Project, release: ReleaseRecord, full: bool) -> str:
    """What a promote of `release` skips and where its rollout stops next."""
    try:
        state = RolloutState.from_meta(release.meta)
    except (TypeError, ValueError):
        return "the release has no rollout state"
    config = project.environment(release.environment)
    has_stable = state.stable_group is not None
    steps = plan(config.strategy, Situation(config.replicas, has_stable, state.skip_analysis))
    held = state.paused_reason is not None or (
        state.step < len(steps) and steps[state.step].kind == "pause"
    )
    return describe_promote(steps, state.step, held, full)


def set_paused(project: Project, environment: str, paused: bool) -> ReleaseRecord:
    """Hold the rollout at its next step boundary, or let it go on."""
    project.environment(environment)
    release = active_release(project, environment)
    kind = ControlKind.PAUSE if paused else ControlKind.RESUME
    _request(project, release, kind, f"paused by {actor()}" if paused else None)
    audit(project, environment, "pause" if paused else "resume", "requested", release=release.id)
    return project.ledger.get_release(release.id)
