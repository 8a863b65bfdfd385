"""One release being rolled out: its ledger record, persisted state, plan and code, and the
two things every part does with them (read the record, save the state)."""

from __future__ import annotations

from dataclasses import dataclass

from moai_deploy.ledger.records import ReleaseRecord
from moai_deploy.ledger.store import Ledger
from moai_deploy.rollout.context import ReleaseRequest
from moai_deploy.rollout.plan import Step
from moai_deploy.rollout.state import RolloutState


@dataclass
class RolloutRun:
    """What `release.begin` / `release.resume` hand the engine."""

    release: ReleaseRecord
    state: RolloutState
    steps: list[Step]
    request: ReleaseRequest


class Progress:
    """The run, bound to its ledger: `save()` persists the state before it is acted on."""

    def __init__(self, ledger: Ledger, run: RolloutRun) -> None:
        self.ledger = ledger
        self.release = run.release
        self.state = run.state
        self.steps = run.steps
        self.request = run.request

    def ledger_release(self) -> ReleaseRecord:
        """The release as the ledger has it now."""
        return self.ledger.get_release(self.release.id)

    def save(self) -> None:
        """Persist the rollout state (release.meta["rollout"])."""
        self.ledger.update_meta(self.release.id, self.state.to_meta())

    def steps_after(self, step: Step) -> int:
        return len(self.steps) - 1 - self.steps.index(step)
