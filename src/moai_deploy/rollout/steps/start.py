"""start: start the new version's instances (reusing ones a resumed rollout left running)."""

from __future__ import annotations

from moai_deploy.rollout.parts import Rollout
from moai_deploy.rollout.plan import Step


def run(rollout: Rollout, step: Step) -> str:
    names = rollout.fleet.start_new(rollout.ctx.config.replicas)
    ports = [i.port for i in rollout.fleet.new_instances()]
    group = rollout.state.new_group
    rollout.ctx.ledger.update_meta(rollout.progress.release.id, {"group": group, "ports": ports})
    return f"{group}: " + ", ".join(names)
