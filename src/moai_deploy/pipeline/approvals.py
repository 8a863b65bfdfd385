"""approve, reject: people's decisions on a release that waits for approval."""

from __future__ import annotations

from typing import Any

from moai_deploy.errors import BadInputError, ForbiddenError
from moai_deploy.ledger.approvals import ApprovalStore, ApprovalTally
from moai_deploy.ledger.events import EventLog
from moai_deploy.ledger.records import ReleaseRecord
from moai_deploy.pipeline import control
from moai_deploy.pipeline.operations import active_release
from moai_deploy.pipeline.preflight import audit
from moai_deploy.pipeline.project import Project
from moai_deploy.rollout.lock import actor
from moai_deploy.rollout.reporter import Reporter
from moai_deploy.spec.control import ApprovalsSpec


def _awaiting(project: Project, environment: str) -> tuple[ReleaseRecord, ApprovalsSpec]:
    rule = project.environment(environment).approvals
    if rule is None:
        raise BadInputError(f"{environment!r} does not require approvals (no `approvals:` in it)")
    release = active_release(project, environment)
    if not release.meta.get("rollout", {}).get("approvals"):
        raise BadInputError(f"release #{release.id} of {environment!r} needs no approval")
    return release, rule


def approve(project: Project, environment: str, comment: str = "") -> ApprovalTally:
    """Record the actor's approval of the release waiting in `environment`."""
    release, rule = _awaiting(project, environment)
    who = actor()
    if who == release.deployed_by:
        audit(project, environment, "approve", "refused", release=release.id, why="self")
        raise ForbiddenError(
            f"{who} deployed release #{release.id} and cannot approve it\n"
            "    fix: ask another approver"
        )
    store = ApprovalStore(project.ledger)
    store.record(release, who, "approve", comment, rule.expiry)
    tally = store.tally(release, rule.required)
    audit(project, environment, "approve", "succeeded", release=release.id, **tally.to_dict())
    EventLog(project.ledger).append(release.id, "approval", tally.to_dict(), actor=who)
    return tally


def reject(
    project: Project, environment: str, reason: str, reporter: Reporter | None = None
) -> ReleaseRecord:
    """Record the actor's rejection and abort the release (traffic stays on stable)."""
    if not reason.strip():
        raise BadInputError("a rejection needs a reason\n    fix: --reason TEXT")
    release, _rule = _awaiting(project, environment)
    ApprovalStore(project.ledger).record(release, actor(), "reject", reason)
    audit(project, environment, "reject", "succeeded", release=release.id, reason=reason)
    EventLog(project.ledger).append(release.id, "rejection", {"reason": reason}, actor=actor())
    return control.abort(project, environment, reporter)


def pending(project: Project) -> list[dict[str, Any]]:
    """Releases waiting for approval in every environment, with their tallies."""
    found: list[dict[str, Any]] = []
    store = ApprovalStore(project.ledger)
    for environment in project.loaded.spec.environments:
        rule = project.environment(environment).approvals
        if rule is None:
            continue
        for release in project.ledger.in_progress(project.service, environment):
            required = release.meta.get("rollout", {}).get("approvals") or 0
            tally = store.tally(release, required)
            if required and not tally.approved and tally.rejected_by is None:
                found.append(
                    {
                        "environment": environment,
                        "release": release.to_dict(),
                        "tally": tally.to_dict(),
                        "decisions": [a.to_dict() for a in store.for_release(release.id)],
                    }
                )
    return found
