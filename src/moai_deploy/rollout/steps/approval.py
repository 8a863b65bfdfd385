"""approval: the release waits until enough distinct people approved it.

One `waiting_for_approval` event is sent when the wait starts (not one per poll); a
rejection aborts the release: the engine undoes it like any abort.
"""

from __future__ import annotations

import time

from moai_deploy.ledger.approvals import ApprovalStore, ApprovalTally
from moai_deploy.rollout.errors import AbortRequested
from moai_deploy.rollout.parts import Rollout
from moai_deploy.rollout.plan import Step

_POLL = 0.5  # seconds between reads of the approvals


def run(rollout: Rollout, step: Step) -> str:
    """Block (honouring abort) until the release's approval rule is met."""
    ctx = rollout.ctx
    store = ApprovalStore(ctx.ledger)
    required = rollout.state.approvals
    release = rollout.progress.ledger_release()
    tally = store.tally(release, required)
    if not tally.approved:
        ctx.reporter.event(
            "waiting_for_approval", release=release.id, required=required, have=tally.approvers
        )
    last_read = time.monotonic()

    def decided() -> bool:
        nonlocal tally, last_read
        if time.monotonic() - last_read >= _POLL:
            tally, last_read = store.tally(release, required), time.monotonic()
        if tally.rejected_by is not None:
            _abort_rejected(tally)
        return tally.approved

    rollout.lookout.wait_until(decided, None)
    ctx.reporter.event("approved", release=release.id, approvers=tally.approvers)
    return "approved by " + ", ".join(tally.approvers)


def _abort_rejected(tally: ApprovalTally) -> None:
    raise AbortRequested(f"rejected by {tally.rejected_by}: {tally.reason or 'no reason'}")
