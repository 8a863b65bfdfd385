"""smoke: the new instances answer the health and smoke paths, directly (not routed)."""

from __future__ import annotations

from moai_deploy.rollout.parts import Rollout
from moai_deploy.rollout.plan import Step


def run(rollout: Rollout, step: Step) -> str:
    return rollout.fleet.smoke([i.name for i in rollout.fleet.new_instances()])
