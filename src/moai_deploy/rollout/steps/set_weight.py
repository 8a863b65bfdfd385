"""set_weight: the new version's share of the traffic (a canary step, or the full switch).

This is where a canary's weight changes: `traffic.set_new_weight` saves it, routes it and
verifies that the router serves it. A canary's background analysis starts here, at its
first partial weight, once the router serves it.
"""

from __future__ import annotations

from moai_deploy.rollout.parts import Rollout
from moai_deploy.rollout.plan import Step


def run(rollout: Rollout, step: Step) -> str:
    if step.weight is None:
        raise ValueError("set_weight step without a weight")
    if rollout.skipping and step.weight != 100:
        return "skipped: promoted in full"
    routing = rollout.traffic.set_new_weight(step.weight)
    if step.background is not None and rollout.state.stable_group is not None:
        # Its first window opens once the router serves the canary: opened before, a slow
        # switch (a loaded machine) left it without canary requests, i.e. inconclusive,
        # and the rollout paused for a human with no fault at all.
        rollout.lookout.start_background(step.background, rollout.target())
    weights = ", ".join(f"{k}={v}" for k, v in routing.weights().items())
    return f"{step.weight}% to {rollout.request.version}, verified ({weights})"
