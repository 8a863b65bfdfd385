"""wait_ready: every new instance answers its readiness path, within the deadlines."""

from __future__ import annotations

from moai_deploy.rollout.parts import Rollout
from moai_deploy.rollout.plan import Step


def run(rollout: Rollout, step: Step) -> str:
    names = [i.name for i in rollout.fleet.new_instances()]
    rollout.fleet.await_ready(names)
    return f"{len(names)} instance(s) ready"
