"""The parts a rollout is built from, handed to every step handler: no base classes, each
part one concern (see each module): `progress` (state on record), `fleet` (instances via
the runtime), `traffic` (shares -> routing -> verify), `lookout` (controls, background
analysis, router health) and the analysis gateway."""

from __future__ import annotations

from dataclasses import dataclass

from moai_deploy.rollout.context import ReleaseRequest, RolloutContext
from moai_deploy.rollout.fleet import Fleet
from moai_deploy.rollout.gateway import AnalysisGateway, AnalysisTarget
from moai_deploy.rollout.lookout import Lookout
from moai_deploy.rollout.progress import Progress
from moai_deploy.rollout.state import RolloutState
from moai_deploy.rollout.traffic import Traffic


@dataclass
class Rollout:
    """One release's rollout, as its step handlers see it."""

    ctx: RolloutContext
    progress: Progress
    fleet: Fleet
    traffic: Traffic
    lookout: Lookout
    analysis: AnalysisGateway

    @property
    def state(self) -> RolloutState:
        return self.progress.state

    @property
    def request(self) -> ReleaseRequest:
        return self.progress.request

    @property
    def skipping(self) -> bool:
        """True once `promote --full` asked to skip every remaining step."""
        return self.lookout.controls.skipping

    def target(self) -> AnalysisTarget:
        """The router backends an analysis compares: the new version and the stable one."""
        stable = self.state.stable_group
        return AnalysisTarget(
            canary=self.ctx.backend_name(self.state.new_group),
            stable=self.ctx.backend_name(stable) if stable else None,
        )

    def interrupted(self) -> bool:
        """For a running analysis: raises on abort; True on `promote --full`."""
        self.lookout.tick()
        return self.skipping  # a step promote waits for the next pause
