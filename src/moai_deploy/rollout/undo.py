"""Undo a rollout that stopped: traffic back to stable first (every moment here serves the
bad version), stable's capacity back after a rolling update, the new instances stopped,
the release marked aborted or failed."""

from __future__ import annotations

import contextlib
from pathlib import Path

from moai_deploy.ledger.models import ReleaseStatus
from moai_deploy.rollout.instances import instance_name
from moai_deploy.rollout.parts import Rollout
from moai_deploy.rollout.routing import GroupShare

UNFINISHED = (ReleaseStatus.PENDING, ReleaseStatus.IN_PROGRESS)


def undo(rollout: Rollout, reason: str, status: ReleaseStatus) -> None:
    """Put stable back, stop the new version, end the release with `status`."""
    ctx, st = rollout.ctx, rollout.state
    was_rolling = st.rolling
    try:
        rollout.traffic.to_stable()
        if was_rolling:
            restore_stable_capacity(rollout)  # before the new instances go away
    except Exception as exc:  # keep undoing: the new instances must still stop
        # Best effort: a full disk fails the journal's write of this event too.
        with contextlib.suppress(Exception):
            ctx.reporter.event("restore_failed", detail=ctx.secrets.redact(str(exc)))
    finally:
        rollout.lookout.stop_background()
        rollout.fleet.stop_group(st.new_group)
    release = rollout.progress.ledger_release()
    if release.status in UNFINISHED:
        ctx.ledger.transition(release.id, status, message=ctx.secrets.redact(reason))
    ctx.reporter.event("undone", status=str(status), reason=reason)


def restore_stable_capacity(rollout: Rollout) -> None:
    """After a rolling update is undone: restart the old instances it had drained."""
    ctx, st, fleet = rollout.ctx, rollout.state, rollout.fleet
    if st.stable_group is None or st.stable_release is None:
        return
    running = {i.name for i in fleet.group(st.stable_group) if i.state.alive}
    missing = [
        index
        for index in range(ctx.config.replicas)
        if instance_name(ctx.service, ctx.environment, st.stable_group, index) not in running
    ]
    if not missing:
        return
    stable = ctx.ledger.get_release(st.stable_release)
    artifact = fleet.artifact_of(stable.version, stable.meta, Path(stable.artifact or ""))
    fleet.start_stable(stable, artifact, st.stable_group, missing)
    everyone = fleet.group(st.stable_group)
    rollout.traffic.apply([GroupShare(ctx.backend_name(st.stable_group), 100, everyone)])
