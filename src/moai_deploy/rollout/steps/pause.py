"""pause: wait for its duration (kept across a resume) or until promoted."""

from __future__ import annotations

import time

from moai_deploy.rollout.parts import Rollout
from moai_deploy.rollout.plan import Step


def run(rollout: Rollout, step: Step) -> str:
    if rollout.skipping:
        return "skipped: promoted in full"
    st = rollout.state
    if st.pause_started is None:
        st.pause_started = time.time()
        rollout.progress.save()
    rollout.ctx.reporter.event("pause", seconds=step.duration)
    remaining = None
    if step.duration is not None:
        remaining = max(0.0, st.pause_started + step.duration - time.time())
    controls = rollout.lookout.controls
    promoted = rollout.lookout.wait_until(lambda: controls.take_promote() is not None, remaining)
    st.pause_started = None
    return "promoted" if promoted else f"waited {step.duration:g}s"
