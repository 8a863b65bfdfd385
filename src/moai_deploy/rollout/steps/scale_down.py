"""scale_down: after the scale-down delay (instant rollback until then), route only the
new version and stop the old one."""

from __future__ import annotations

import time

from moai_deploy.rollout.parts import Rollout
from moai_deploy.rollout.plan import Step


def run(rollout: Rollout, step: Step) -> str:
    st = rollout.state
    old = rollout.fleet.group(st.stable_group) if st.stable_group != st.new_group else []
    if not old:
        return "no previous version running"
    rollout.ctx.reporter.event("scale_down_wait", seconds=step.duration or 0.0)
    time.sleep(step.duration or 0.0)
    rollout.traffic.only_new()
    rollout.fleet.stop([i.name for i in old])
    return f"stopped {len(old)} {st.stable_group} instance(s)"
