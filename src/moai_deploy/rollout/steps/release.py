"""release: the release command (e.g. migrations), once per release, before any instance."""

from __future__ import annotations

from moai_deploy.rollout.parts import Rollout
from moai_deploy.rollout.plan import Step
from moai_deploy.rollout.release_command import run_release_command


def run(rollout: Rollout, step: Step) -> str:
    artifact = rollout.fleet.ensure_artifact()
    return run_release_command(rollout.ctx, artifact, rollout.progress.release)
