"""build: prepare the release's artifact through the runtime (and record it)."""

from __future__ import annotations

from moai_deploy.rollout.parts import Rollout
from moai_deploy.rollout.plan import Step


def run(rollout: Rollout, step: Step) -> str:
    recorded = rollout.request.artifact
    meta = {"artifact": recorded.to_meta()} if recorded is not None else {}
    fleet = rollout.fleet
    fleet.artifact = fleet.artifact_of(rollout.request.version, meta, rollout.request.snapshot)
    rollout.ctx.ledger.update_meta(
        rollout.progress.release.id, {"artifact": fleet.artifact.to_meta()}
    )
    return fleet.artifact.summary
