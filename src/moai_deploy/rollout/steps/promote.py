"""promote: the release is live (and the release it rolled back from is rolled_back)."""

from __future__ import annotations

from moai_deploy.ledger.models import ReleaseStatus
from moai_deploy.rollout.parts import Rollout
from moai_deploy.rollout.plan import Step


def run(rollout: Rollout, step: Step) -> str:
    rollout.lookout.stop_background()
    progress, ledger = rollout.progress, rollout.ctx.ledger
    if progress.ledger_release().status != ReleaseStatus.SUCCEEDED:
        progress.release = ledger.transition(progress.release.id, ReleaseStatus.SUCCEEDED)
    rollback_of = rollout.request.rollback_of
    if (
        rollback_of is not None
        and ledger.get_release(rollback_of).status == ReleaseStatus.SUCCEEDED
    ):
        ledger.transition(rollback_of, ReleaseStatus.ROLLED_BACK)
    return f"{rollout.request.version} is live"
