"""One handler per plan step kind, each in its own module: `run(rollout, step) -> str`,
the detail the ledger records for the step.

To add a step kind (e.g. a release command, a post-deploy watch): write
`steps/<kind>.py` with `def run(rollout: Rollout, step: Step) -> str`, add it to HANDLERS
below, and emit `Step("<kind>", ...)` from `rollout/plan.py` where it belongs. The engine
needs no change: it records the step, runs its handler, and undoes on any error.
"""

from __future__ import annotations

from collections.abc import Callable

from moai_deploy.rollout import watch
from moai_deploy.rollout.parts import Rollout
from moai_deploy.rollout.plan import Step
from moai_deploy.rollout.steps import (
    analysis,
    approval,
    build,
    pause,
    promote,
    release,
    rolling_batch,
    scale_down,
    set_weight,
    smoke,
    start,
    wait_ready,
)

StepHandler = Callable[[Rollout, Step], str]

HANDLERS: dict[str, StepHandler] = {
    "approval": approval.run,
    "build": build.run,
    "release": release.run,  # the release command, once per release
    "start": start.run,
    "wait_ready": wait_ready.run,
    "smoke": smoke.run,
    "set_weight": set_weight.run,  # the canary's weight changes here
    "pause": pause.run,
    "analysis": analysis.run,
    "promote": promote.run,
    "scale_down": scale_down.run,
    "rolling_batch": rolling_batch.run,
    watch.KIND: watch.run_watch,  # the post-deploy watch, planned before promote
}
